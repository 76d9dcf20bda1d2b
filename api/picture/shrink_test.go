package picture

import (
	"image"
	"image/color"
	"testing"
)

// A one-pixel checkerboard shrunk by any factor is an even grey: every
// source pixel counts (a scaler that samples would give black or white
// stripes, the aliasing a photo's fine detail shows as moiré).
func TestShrinkAveragesEveryPixel(t *testing.T) {
	src := image.NewGray(image.Rect(0, 0, 999, 667))
	for y := range 667 {
		for x := range 999 {
			if (x+y)%2 == 0 {
				src.SetGray(x, y, color.Gray{255})
			}
		}
	}
	for _, size := range [][2]int{{333, 222}, {100, 67}, {480, 320}, {998, 666}, {1, 1}} {
		m := shrink(src, size[0], size[1])
		if m.Rect.Dx() != size[0] || m.Rect.Dy() != size[1] {
			t.Fatalf("shrink to %v gave %v", size, m.Rect)
		}
		lo, hi := uint8(255), uint8(0)
		for i := 0; i < len(m.Pix); i += 4 {
			lo, hi = min(lo, m.Pix[i]), max(hi, m.Pix[i])
		}
		// An output pixel covering an odd number of source pixels is
		// off grey by one pixel's share at most.
		if slack := 255 / (999 / size[0] * (667 / size[1])); lo < 127-uint8(min(slack, 127)) || hi > 128+uint8(min(slack, 127)) {
			t.Errorf("shrink to %v: greys from %d to %d", size, lo, hi)
		}
	}
}

// A flat colour stays exactly that colour, and transparent pixels lend no
// colour: red beside transparent averages to half-transparent red, not to
// a darker red.
func TestShrinkKeepsColoursAndAlpha(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 300, 200))
	for y := range 200 {
		for x := range 300 {
			if x%2 == 0 {
				src.SetNRGBA(x, y, color.NRGBA{200, 10, 10, 255})
			}
		}
	}
	m := shrink(src, 150, 100)
	got := color.NRGBAModel.Convert(m.At(70, 50)).(color.NRGBA)
	if got.A < 126 || got.A > 129 || got.R < 198 || got.G > 12 {
		t.Fatalf("red beside transparent shrank to %+v, want half-transparent red", got)
	}
	flat := image.NewRGBA(image.Rect(0, 0, 777, 555))
	for i := range flat.Pix {
		flat.Pix[i] = []uint8{12, 34, 56, 255}[i%4]
	}
	m = shrink(flat, 480, 343)
	for i := 0; i < len(m.Pix); i += 4 {
		if c := m.Pix[i : i+4]; c[0] != 12 || c[1] != 34 || c[2] != 56 || c[3] != 255 {
			t.Fatalf("flat colour shrank to %v at pixel %d", c, i/4)
		}
	}
}
