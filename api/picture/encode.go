package picture

import (
	"bytes"
	"errors"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"

	"github.com/kairan/kairan/shared"
)

// jpegQuality keeps a phone photo looking as it did at about a tenth of
// the bytes of PNG; artefacts start to show on flat colours below ~80.
const jpegQuality = 85

// fit returns src as RGBA, shrunk to fit side × side when it is larger.
func fit(src image.Image, side int) *image.RGBA {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= side && h <= side {
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(dst, dst.Rect, src, b.Min, draw.Src)
		return dst
	}
	if w >= h {
		w, h = side, max(1, (h*side+w/2)/w)
	} else {
		w, h = max(1, (w*side+h/2)/h), side
	}
	return shrink(src, w, h)
}

// encode writes the picture and its preview in one format. A picture with
// any transparency is PNG; a JPEG upload (a photo) is JPEG; any other
// opaque upload (a drawing, a screenshot, a photo sent as WebP) takes
// whichever of the two is smaller, which is PNG for flat colours and JPEG
// for photos. The PNG is abandoned as soon as it outgrows the JPEG.
func encode(full, preview *image.RGBA, fromJPEG bool) (Picture, error) {
	pic := Picture{Width: full.Rect.Dx(), Height: full.Rect.Dy()}
	var err error
	switch {
	case !full.Opaque():
		pic.Type = shared.TypePNG
	case fromJPEG:
		pic.Type = shared.TypeJPEG
	default:
		pic.Type = shared.TypeJPEG
		if pic.Full, err = encodeJPEG(full); err != nil {
			return Picture{}, err
		}
		if p, err := encodePNG(full, len(pic.Full)); err == nil {
			pic.Type, pic.Full = shared.TypePNG, p
		} else if !errors.Is(err, errTooBig) {
			return Picture{}, err
		}
	}
	enc := encodeJPEG
	if pic.Type == shared.TypePNG {
		enc = func(m *image.RGBA) ([]byte, error) { return encodePNG(m, -1) }
	}
	if pic.Full == nil {
		if pic.Full, err = enc(full); err != nil {
			return Picture{}, err
		}
	}
	if pic.Preview, err = enc(preview); err != nil {
		return Picture{}, err
	}
	return pic, nil
}

func encodeJPEG(m *image.RGBA) ([]byte, error) {
	var buf bytes.Buffer
	err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: jpegQuality})
	return buf.Bytes(), err
}

// encodePNG writes m as PNG, giving up with errTooBig past limit bytes
// (limit < 0: no limit).
func encodePNG(m *image.RGBA, limit int) ([]byte, error) {
	w := &capped{limit: limit}
	if err := (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(w, m); err != nil {
		return nil, err
	}
	return w.buf.Bytes(), nil
}

var errTooBig = errors.New("picture: PNG larger than the JPEG")

type capped struct {
	buf   bytes.Buffer
	limit int
}

func (c *capped) Write(p []byte) (int, error) {
	if c.limit >= 0 && c.buf.Len()+len(p) > c.limit {
		return 0, errTooBig
	}
	return c.buf.Write(p)
}
