package web

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"

	"github.com/labstack/echo/v4"
)

// faviconPNG is the icon browsers ask for at /favicon.ico before reading
// a page (and tablets keep for a shortcut): the same red square with three
// white lines (a ledger's rows) as static/favicon.svg, drawn at 32×32.
var faviconPNG = iconPNG(32)

// iconPNG draws the icon at size×size pixels: the 32-pixel drawing scaled,
// so the home-screen icons of the village app (192, 512) are the favicon.
func iconPNG(size int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	red, white := color.NRGBA{0xb3, 0x26, 0x1e, 0xff}, color.NRGBA{0xff, 0xff, 0xff, 0xff}
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			img.Set(x, y, red)
		}
	}
	at := func(v int) int { return v * size / 32 }
	for _, row := range [][3]int{{8, 7, 25}, {14, 7, 25}, {21, 7, 19}} {
		for y := at(row[0]); y < at(row[0]+3); y++ {
			for x := at(row[1]); x < at(row[2]); x++ {
				img.Set(x, y, white)
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func favicon(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=86400")
	return c.Blob(http.StatusOK, "image/png", faviconPNG)
}
