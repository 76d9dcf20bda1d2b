package picture

import (
	"image"
	"image/draw"
)

// shrink returns src brought down to w × h (each no larger than src's) by
// averaging the area of src that each output pixel covers: every source
// pixel counts, in proportion to its overlap, so nothing aliases, and the
// work is one pass over the source with two rows of memory. (x/image/draw's
// kernels look sharper but keep a w × src-height buffer of float64s: 198
// MB for a 12 MP photo brought to 2048, 359 MB at the 40 MP limit;
// docs/BENCHMARKS.md.) Colours are averaged premultiplied, so transparent
// pixels lend no colour to their neighbours.
func shrink(src image.Image, w, h int) *image.RGBA {
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	row := image.NewRGBA(image.Rect(0, 0, sw, 1)) // one source row, converted by image/draw's fast paths
	across := make([]float32, 4*w)                // that row shrunk across
	down := make([]float32, 4*w)                  // the output row being summed
	// Positions in units where a source pixel is w (across) or h (down)
	// long and an output pixel sw or sh: integers, so boundaries are exact.
	// As w ≤ sw, a source pixel covers parts of at most two output pixels.
	split := func(i, n, sn int) (o, first, rest int) {
		lo, hi := i*n, (i+1)*n
		o = lo / sn
		if edge := (o + 1) * sn; hi > edge {
			return o, edge - lo, hi - edge
		}
		return o, n, 0
	}
	for y := range sh {
		draw.Draw(row, row.Rect, src, image.Pt(b.Min.X, b.Min.Y+y), draw.Src)
		clear(across)
		for x := range sw {
			o, first, rest := split(x, w, sw)
			p := row.Pix[4*x : 4*x+4]
			f := float32(first) / float32(sw)
			for c := range 4 {
				across[4*o+c] += float32(p[c]) * f
			}
			if rest > 0 {
				f = float32(rest) / float32(sw)
				for c := range 4 {
					across[4*o+4+c] += float32(p[c]) * f
				}
			}
		}
		o, first, rest := split(y, h, sh)
		f := float32(first) / float32(sh)
		for i, v := range across {
			down[i] += v * f
		}
		if (y+1)*h >= (o+1)*sh { // output row o is complete
			emit(dst, o, down)
			f = float32(rest) / float32(sh)
			for i, v := range across {
				down[i] = v * f
			}
		}
	}
	return dst
}

// emit writes a summed row into dst, rounding to the nearest value.
func emit(dst *image.RGBA, y int, sums []float32) {
	if y >= dst.Rect.Dy() {
		return
	}
	pix := dst.Pix[y*dst.Stride : y*dst.Stride+len(sums)]
	for i, v := range sums {
		pix[i] = uint8(min(255, v+0.5))
	}
}
