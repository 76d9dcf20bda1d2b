package picture

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"

	xdraw "golang.org/x/image/draw"

	"github.com/kairan/kairan/api/internal/picturetest"
	"github.com/kairan/kairan/shared"
)

// BenchmarkProcess is the server's work per upload (docs/BENCHMARKS.md):
// decode, orient, shrink, re-encode the picture and its preview. It
// reports the bytes kept, which is what the database grows by.
func BenchmarkProcess(b *testing.B) {
	for _, bc := range []struct {
		name, typ string
		body      []byte
	}{
		{"photo-12MP-as-taken", shared.TypeJPEG, picturetest.WithEXIF(picturetest.Photo(4032, 3024), 6)},
		{"photo-2048-as-the-page-sends-it", shared.TypeJPEG, picturetest.Photo(2048, 1536)},
		{"drawing-1080x1920", shared.TypePNG, picturetest.Drawing(1080, 1920, false)},
		{"drawing-1080x1920-transparent", shared.TypePNG, picturetest.Drawing(1080, 1920, true)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.body)))
			var p Picture
			for b.Loop() {
				var err error
				if p, err = Process(bc.typ, bc.body, DefaultLimits); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(bc.body)), "upload-B")
			b.ReportMetric(float64(len(p.Full)), "full-B")
			b.ReportMetric(float64(len(p.Preview)), "preview-B")
		})
	}
}

// BenchmarkScale compares shrink (encode.go's choice) with x/image/draw's
// scalers on the costliest job, a 12 MP photo brought to 2048 px, and on
// the common one, a preview of a 2048-px picture; -benchmem shows the
// kernels' buffer.
func BenchmarkScale(b *testing.B) {
	src, err := jpeg.Decode(bytes.NewReader(picturetest.Photo(4032, 3024)))
	if err != nil {
		b.Fatal(err)
	}
	mid := fit(src, 2048)
	for _, sc := range []struct {
		name  string
		scale func(dst *image.RGBA, src image.Image)
	}{
		{"area", func(dst *image.RGBA, src image.Image) { shrink(src, dst.Rect.Dx(), dst.Rect.Dy()) }},
		{"CatmullRom", kernel(xdraw.CatmullRom)},
		{"BiLinear", kernel(xdraw.BiLinear)},
		{"ApproxBiLinear", kernel(xdraw.ApproxBiLinear)},
	} {
		b.Run(sc.name+"/12MP-to-2048", func(b *testing.B) {
			b.ReportAllocs()
			dst := image.NewRGBA(image.Rect(0, 0, 2048, 1536))
			for b.Loop() {
				sc.scale(dst, src)
			}
		})
		b.Run(sc.name+"/2048-to-preview", func(b *testing.B) {
			b.ReportAllocs()
			dst := image.NewRGBA(image.Rect(0, 0, 480, 360))
			for b.Loop() {
				sc.scale(dst, mid)
			}
		})
	}
}

func kernel(s xdraw.Scaler) func(*image.RGBA, image.Image) {
	return func(dst *image.RGBA, src image.Image) { s.Scale(dst, dst.Rect, src, src.Bounds(), xdraw.Src, nil) }
}
