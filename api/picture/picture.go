// Package picture turns an uploaded picture into what kairan keeps and
// serves (DESIGN.md section 3): it reads the declared format only, checks
// the size the header claims before decoding a pixel, applies a phone
// photo's EXIF orientation, shrinks it to the longest side allowed, and
// writes it anew as JPEG or PNG with a small preview beside it. Nothing of
// the upload but its pixels survives: no EXIF, GPS, ICC profile, comment
// chunk or bytes appended after the image's end.
package picture

import (
	"bytes"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"mime"
	"strings"

	"golang.org/x/image/webp"

	"github.com/kairan/kairan/shared"
)

// Limits bound what an upload may be and what is kept of it.
type Limits struct {
	// MaxPixels refuses an upload whose header claims more pixels, before
	// any decoding (a decompression bomb is a few KB claiming 100,000 ×
	// 100,000).
	MaxPixels int64
	// MaxSide is the longest side kept; larger pictures are shrunk.
	MaxSide int
	// PreviewSide is the preview's longest side.
	PreviewSide int
}

// DefaultLimits are the contract's defaults.
var DefaultLimits = Limits{MaxPixels: shared.MaxImagePixels, MaxSide: shared.MaxImageSide, PreviewSide: shared.PreviewSide}

// Picture is an upload as kept: Type is shared.TypeJPEG or TypePNG, for
// the picture and its preview alike; Width and Height are Full's.
type Picture struct {
	Type          string
	Width, Height int
	Full, Preview []byte
}

// format is one accepted upload type.
type format struct {
	name   string
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

var formats = map[string]format{
	shared.TypeJPEG: {"JPEG", jpeg.DecodeConfig, jpeg.Decode},
	shared.TypePNG:  {"PNG", png.DecodeConfig, png.Decode},
	shared.TypeWebP: {"WebP", webp.DecodeConfig, webp.Decode},
	// A GIF keeps its first frame: an animation would need every frame
	// decoded, a bomb of its own.
	shared.TypeGIF: {"GIF", gif.DecodeConfig, gif.Decode},
}

// MediaType returns the upload type a Content-Type header names
// (parameters ignored), or unsupported_media_type.
func MediaType(contentType string) (string, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if _, ok := formats[mt]; err != nil || !ok {
		return "", shared.Errorf(shared.CodeUnsupportedMediaType,
			"Send a picture as image/jpeg, image/png, image/webp or image/gif, with that Content-Type and the picture's bytes as the body.")
	}
	return mt, nil
}

// Process reads body as the declared type (from MediaType) and returns
// what is kept of it. Bytes that are not a whole picture of that type, or
// too many pixels, are invalid_image; the server does not guess another
// format (a PNG sent as image/jpeg is refused, with a message naming what
// it looks like), so what was declared is what was checked.
func Process(declared string, body []byte, lim Limits) (Picture, error) {
	f, ok := formats[declared]
	if !ok {
		return Picture{}, shared.Errorf(shared.CodeUnsupportedMediaType, "Send a picture as image/jpeg, image/png, image/webp or image/gif.")
	}
	cfg, err := f.config(bytes.NewReader(body))
	if err != nil {
		return Picture{}, notA(f, body)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > lim.MaxPixels {
		return Picture{}, shared.Errorf(shared.CodeInvalidImage, fmt.Sprintf(
			"The picture is %d × %d pixels; pictures may have at most %d million pixels. Shrink it and send it again.",
			cfg.Width, cfg.Height, lim.MaxPixels/1_000_000))
	}
	img, err := f.decode(bytes.NewReader(body))
	if err == nil && img.Bounds().Empty() {
		// A GIF's first frame may be empty inside a screen that is not.
		err = fmt.Errorf("picture: %s with no pixels", f.name)
	}
	if err != nil {
		return Picture{}, shared.Errorf(shared.CodeInvalidImage, fmt.Sprintf(
			"The %s picture could not be read whole (it may be cut short or damaged); send it again or choose another.", f.name))
	}
	orientation := 1
	if declared == shared.TypeJPEG {
		orientation = exifOrientation(body)
	}
	full := orient(fit(img, lim.MaxSide), orientation)
	preview := fit(full, lim.PreviewSide)
	return encode(full, preview, declared == shared.TypeJPEG)
}

// notA refuses body as not being of f's format, and names what it looks
// like when it is another picture format, so the sender can fix the header.
func notA(f format, body []byte) error {
	msg := fmt.Sprintf("The body is not a %s picture", f.name)
	if other := sniff(body); other != "" && other != f.name {
		msg += " (it looks like " + other + "; send it with Content-Type image/" + strings.ToLower(other) + ")"
	}
	return shared.Errorf(shared.CodeInvalidImage, msg+"; choose a photo or drawing and send it again.")
}

// sniff names the picture format body starts like, or "".
func sniff(body []byte) string {
	switch {
	case bytes.HasPrefix(body, []byte("\xff\xd8\xff")):
		return "JPEG"
	case bytes.HasPrefix(body, []byte("\x89PNG\r\n\x1a\n")):
		return "PNG"
	case len(body) >= 12 && string(body[:4]) == "RIFF" && string(body[8:12]) == "WEBP":
		return "WebP"
	case bytes.HasPrefix(body, []byte("GIF87a")) || bytes.HasPrefix(body, []byte("GIF89a")):
		return "GIF"
	}
	return ""
}
