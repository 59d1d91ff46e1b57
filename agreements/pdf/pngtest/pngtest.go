// Package pngtest writes PNG files byte by byte for tests: images the
// standard encoder does not make (16-bit, interlaced) and huge flat ones
// that cost the test little memory, such as the security review's
// decompression bombs.
package pngtest

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
)

// Colour types of the PNG header.
const (
	Gray = 0
	RGB  = 2
	RGBA = 6
)

// Flat is a w×h PNG of one flat dark grey at the given bit depth (8 or 16)
// and colour type, compressed row by row: the review's 16-bit 3000×3000
// image is about 75 KB on the wire and 72 MB once decoded.
func Flat(w, h int, depth, colorType byte) []byte {
	channels := map[byte]int{Gray: 1, RGB: 3, RGBA: 4}[colorType]
	row := make([]byte, 1+w*channels*int(depth)/8) // filter byte 0: none
	for i := 1; i < len(row); i++ {
		row[i] = 0x20
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	for range h {
		_, _ = zw.Write(row)
	}
	_ = zw.Close()
	return Encode(w, h, depth, colorType, false, z.Bytes())
}

// Encode wraps compressed image data (idat: zlib of the filtered scanlines)
// in a PNG with the given header.
func Encode(w, h int, depth, colorType byte, interlaced bool, idat []byte) []byte {
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(data)))
		out.Write(l[:])
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		out.WriteString(typ)
		out.Write(data)
		binary.BigEndian.PutUint32(l[:], crc.Sum32())
		out.Write(l[:])
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = depth, colorType
	if interlaced {
		ihdr[12] = 1
	}
	chunk("IHDR", ihdr)
	chunk("IDAT", idat)
	chunk("IEND", nil)
	return out.Bytes()
}
