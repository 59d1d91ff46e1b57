package pdf_test

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/daiban/daiban/agreements/pdf"
)

// benchAgreement is a typical one-page agreement: one matter, three
// materials, rare characters from the main font (the naive renderer, like
// plain gofpdf, cannot print characters outside the BMP at all).
func benchAgreement(tb testing.TB) pdf.AgreementData {
	tb.Helper()
	s1, err := pdf.NormalizeSignature(signaturePNG(1, 900, 320))
	if err != nil {
		tb.Fatal(err)
	}
	s2, err := pdf.NormalizeSignature(signaturePNG(2, 900, 320))
	if err != nil {
		tb.Fatal(err)
	}
	return pdf.AgreementData{
		CaseNumber: "YY-20250305-0042", TrackingCode: "K7Q2M9XR", Title: "食品经营许可（新办）",
		Matters: []pdf.MatterInfo{{Name: "食品经营许可（新办）", Department: "沂源县市场监督管理局", Level: "县级", LimitDays: 10}},
		Applicant: pdf.Party{Kind: "person", Name: "司马喆堃", IDMasked: "3703**********2816",
			PhoneMasked: "139****0417", Address: "沂源县南麻街道犇淼社区 12 号楼 3 单元"},
		Agent: pdf.Agent{Name: "诸葛淼", Username: "zhugemiao"},
		Materials: []pdf.ReceivedMaterial{
			{Name: "食品经营许可申请书", Original: true, Pages: 2},
			{Name: "营业执照", Original: false, Pages: 1},
			{Name: "经营场所使用证明（租赁合同）", Original: true, Pages: 6},
		},
		ApplicantSignature: s1, AgentSignature: s2,
		SignedAt:   time.Date(2025, 3, 5, 9, 30, 0, 0, cstZone),
		VerifyCode: "QX3V9ZKM2A",
	}
}

var cstZone = time.FixedZone("CST", 8*3600)

// BenchmarkAgreement measures, in one run, the p50 latency of a sealed
// one-page agreement (two signatures, two QR codes, seal) made the naive way
// — whole font files handed to gofpdf, parsed and subset for every document
// — and by the optimized renderer, which cuts per-document fonts from the
// fonts parsed once. Run with:
//
//	go test -run '^$' -bench BenchmarkAgreement -benchtime 40x ./agreements/pdf/
func BenchmarkAgreement(b *testing.B) {
	fonts := loadFonts(b)
	sealer, err := pdf.LoadSealer(sealDirFor(b)) // its own, to time its TSA
	if err != nil {
		b.Fatal(err)
	}
	var inTSA time.Duration
	sealer.TimeTSA(&inTSA)
	d := benchAgreement(b)
	opt, err := pdf.NewRenderer(fonts, testCenter)
	if err != nil {
		b.Fatal(err)
	}
	naive, err := pdf.NewNaiveRenderer(fonts, testCenter)
	if err != nil {
		b.Fatal(err)
	}
	var tsaTimes, sealTimes []time.Duration // time in the TSA, in the whole seal, per optimized document
	run := func(r *pdf.Renderer) time.Duration {
		t0 := time.Now()
		docPDF, err := r.Agreement(d)
		if err != nil {
			b.Fatal(err)
		}
		inTSA = 0
		t1 := time.Now()
		res, err := sealer.SealDocument(b.Context(), docPDF, d.SignedAt)
		sealed := time.Since(t1)
		if err != nil || res.AwaitingTimestamp() {
			b.Fatalf("seal: %v (timestamped: %v)", err, !res.AwaitingTimestamp())
		}
		if r == opt {
			tsaTimes, sealTimes = append(tsaTimes, inTSA), append(sealTimes, sealed)
		}
		return time.Since(t0)
	}
	// Warm up both (first use faults the mapped font pages in).
	run(opt)
	run(naive)
	n := b.N
	if n < 5 {
		n = 5
	}
	b.ResetTimer()
	var tn, to []time.Duration
	for i := 0; i < n; i++ {
		// Interleave so both see the same machine load.
		tn = append(tn, run(naive))
		to = append(to, run(opt))
	}
	b.StopTimer()
	pn, po, pt, ps := p50(tn), p50(to), p50(tsaTimes), p50(sealTimes)
	b.ReportMetric(float64(pn.Microseconds())/1000, "naive-p50-ms")
	b.ReportMetric(float64(po.Microseconds())/1000, "opt-p50-ms")
	b.ReportMetric(float64(pn)/float64(po), "speedup")
	b.ReportMetric(float64(pt.Microseconds())/1000, "tsa-p50-ms")
	b.ReportMetric(float64(ps.Microseconds())/1000, "seal-p50-ms")
	fmt.Printf("sealed one-page agreement (PAdES B-LT, local TSA), %d runs each: naive p50 %.1f ms, optimized p50 %.1f ms, ratio %.1fx; "+
		"of it the seal p50 %.2f ms, the local TSA p50 %.2f ms (%.1f%% of the optimized p50)\n",
		n, ms(pn), ms(po), float64(pn)/float64(po), ms(ps), ms(pt), 100*float64(pt)/float64(po))
}

func p50(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
