package picture

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"strings"
	"testing"

	"github.com/kairan/kairan/api/internal/picturetest"
	"github.com/kairan/kairan/shared"
)

func mustProcess(t *testing.T, typ string, body []byte) Picture {
	t.Helper()
	p, err := Process(typ, body, DefaultLimits)
	if err != nil {
		t.Fatalf("Process(%s, %d bytes): %v", typ, len(body), err)
	}
	return p
}

// decoded checks that b is a clean picture of typ and returns it: it
// decodes as typ, and holds nothing but the image (no EXIF, no text
// chunks, nothing after the end).
func decoded(t *testing.T, typ string, b []byte) image.Image {
	t.Helper()
	var m image.Image
	var err error
	switch typ {
	case shared.TypeJPEG:
		m, err = jpeg.Decode(bytes.NewReader(b))
		if !bytes.HasSuffix(b, []byte{0xFF, 0xD9}) {
			t.Errorf("JPEG does not end at its EOI marker")
		}
		if bytes.Contains(b, []byte("Exif")) || bytes.Contains(b, []byte{0xFF, 0xE1}) {
			t.Errorf("JPEG carries an APP1/EXIF segment")
		}
	case shared.TypePNG:
		m, err = png.Decode(bytes.NewReader(b))
		if !bytes.HasSuffix(b, []byte("IEND\xaeB`\x82")) {
			t.Errorf("PNG does not end at its IEND chunk")
		}
		for _, c := range []string{"tEXt", "zTXt", "iTXt", "eXIf", "iCCP"} {
			if bytes.Contains(b, []byte(c)) {
				t.Errorf("PNG carries a %s chunk", c)
			}
		}
	default:
		t.Fatalf("kept type %q is neither JPEG nor PNG", typ)
	}
	if err != nil {
		t.Fatalf("kept %s does not decode: %v", typ, err)
	}
	return m
}

func TestPhotoIsShrunkAndReencodedAsJPEG(t *testing.T) {
	p := mustProcess(t, shared.TypeJPEG, picturetest.Photo(3000, 1500))
	if p.Type != shared.TypeJPEG || p.Width != 2048 || p.Height != 1024 {
		t.Fatalf("kept %s %d×%d, want image/jpeg 2048×1024", p.Type, p.Width, p.Height)
	}
	if b := decoded(t, p.Type, p.Full).Bounds(); b.Dx() != 2048 || b.Dy() != 1024 {
		t.Fatalf("full is %v", b)
	}
	if b := decoded(t, p.Type, p.Preview).Bounds(); b.Dx() != 480 || b.Dy() != 240 {
		t.Fatalf("preview is %v, want 480×240", b)
	}
}

func TestSmallPictureKeepsItsSize(t *testing.T) {
	p := mustProcess(t, shared.TypeJPEG, picturetest.Photo(300, 200))
	if p.Width != 300 || p.Height != 200 {
		t.Fatalf("kept %d×%d", p.Width, p.Height)
	}
	if b := decoded(t, p.Type, p.Preview).Bounds(); b.Dx() != 300 {
		t.Fatalf("preview of a small picture is %v, want it unshrunk", b)
	}
}

func TestDrawingsStayPNGAndTransparencyIsKept(t *testing.T) {
	for _, transparent := range []bool{false, true} {
		p := mustProcess(t, shared.TypePNG, picturetest.Drawing(800, 600, transparent))
		if p.Type != shared.TypePNG {
			t.Fatalf("drawing (transparent %v) kept as %s, want PNG", transparent, p.Type)
		}
		m := decoded(t, p.Type, p.Full)
		_, _, _, a := m.At(0, 0).RGBA()
		if transparent != (a == 0) {
			t.Fatalf("transparent %v: corner alpha %d", transparent, a)
		}
		decoded(t, p.Type, p.Preview)
	}
}

// A photo sent as PNG (a screenshot of one, or a browser's canvas) is kept
// as the smaller JPEG.
func TestOpaquePhotoSentAsPNGBecomesJPEG(t *testing.T) {
	m, _ := jpeg.Decode(bytes.NewReader(picturetest.Photo(600, 400)))
	var buf bytes.Buffer
	png.Encode(&buf, m)
	p := mustProcess(t, shared.TypePNG, buf.Bytes())
	if p.Type != shared.TypeJPEG {
		t.Fatalf("photo sent as PNG kept as %s (%d bytes), want JPEG", p.Type, len(p.Full))
	}
	decoded(t, p.Type, p.Full)
}

func TestWebPAndGIFAreAccepted(t *testing.T) {
	for _, tt := range []struct {
		file, want string
	}{
		{"blue-purple-pink.lossy.webp", ""},
		{"gopher-doc.with-alpha.lossless.webp", shared.TypePNG},
	} {
		body, err := os.ReadFile("testdata/" + tt.file)
		if err != nil {
			t.Fatal(err)
		}
		p := mustProcess(t, shared.TypeWebP, body)
		if tt.want != "" && p.Type != tt.want {
			t.Errorf("%s kept as %s, want %s", tt.file, p.Type, tt.want)
		}
		decoded(t, p.Type, p.Full)
	}
	p := mustProcess(t, shared.TypeGIF, picturetest.GIF(40, 30))
	if p.Width != 40 || p.Height != 30 {
		t.Fatalf("GIF kept %d×%d", p.Width, p.Height)
	}
	decoded(t, p.Type, p.Full)
}

func TestMediaType(t *testing.T) {
	for _, ok := range []string{"image/jpeg", "image/png", "image/webp", "image/gif", "image/jpeg; q=1", "IMAGE/PNG"} {
		if _, err := MediaType(ok); err != nil {
			t.Errorf("MediaType(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "image/svg+xml", "text/html", "image/heic", "application/octet-stream", "image/jpg", "image/*"} {
		if _, err := MediaType(bad); shared.ErrorCode(err) != shared.CodeUnsupportedMediaType {
			t.Errorf("MediaType(%q) = %v, want unsupported_media_type", bad, err)
		}
	}
}

// Hostile uploads are refused with invalid_image and a sentence, before
// they cost more than their header.
func TestHostileFilesAreRefused(t *testing.T) {
	photo := picturetest.Photo(64, 64)
	drawing := picturetest.Drawing(64, 64, false)
	tests := []struct {
		name, typ string
		body      []byte
		says      string
	}{
		{"empty", shared.TypeJPEG, nil, "not a JPEG"},
		{"PNG declared as JPEG", shared.TypeJPEG, drawing, "looks like PNG"},
		{"JPEG declared as PNG", shared.TypePNG, photo, "looks like JPEG"},
		{"JPEG declared as WebP", shared.TypeWebP, photo, "looks like JPEG"},
		{"SVG declared as PNG", shared.TypePNG, []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "not a PNG"},
		{"HTML declared as JPEG", shared.TypeJPEG, []byte(`<!doctype html><script>alert(document.cookie)</script>`), "not a JPEG"},
		{"HTML declared as GIF", shared.TypeGIF, []byte(`<html><body onload=alert(1)>`), "not a GIF"},
		{"truncated PNG", shared.TypePNG, drawing[:len(drawing)/2], "cut short"},
		{"truncated JPEG", shared.TypeJPEG, photo[:len(photo)/2], "cut short"},
		{"JPEG cut inside its header", shared.TypeJPEG, photo[:200], "not a JPEG"},
		{"PNG bomb 100k × 100k", shared.TypePNG, picturetest.PNGBomb(100_000, 100_000), "million pixels"},
		{"PNG just over the pixel limit", shared.TypePNG, picturetest.PNGBomb(8000, 5001), "million pixels"},
		{"JPEG bomb 65000 × 65000", shared.TypeJPEG, picturetest.JPEGBomb(65000, 65000), "million pixels"},
		{"GIF bomb", shared.TypeGIF, picturetest.GIFBomb(), "million pixels"},
		{"PNG claiming no pixels", shared.TypePNG, picturetest.PNGBomb(0, 10), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Process(tt.typ, tt.body, DefaultLimits)
			if shared.ErrorCode(err) != shared.CodeInvalidImage {
				t.Fatalf("error = %v, want invalid_image", err)
			}
			if !strings.Contains(shared.Message(err), tt.says) {
				t.Fatalf("message %q does not say %q", shared.Message(err), tt.says)
			}
		})
	}
}

// Bytes hidden after a picture's end (a GIF that is also a script, a JPEG
// with an HTML page appended) do not survive: what is kept is drawn anew.
func TestPolyglotsComeOutWithoutTheirPayload(t *testing.T) {
	payload := []byte("<html><script>alert(document.cookie)</script></html>")
	for _, tt := range []struct {
		name, typ string
		body      []byte
	}{
		{"JPEG + HTML", shared.TypeJPEG, append(picturetest.Photo(32, 32), payload...)},
		{"PNG + HTML", shared.TypePNG, append(picturetest.Drawing(32, 32, false), payload...)},
		{"GIF + script", shared.TypeGIF, append(picturetest.GIF(32, 32), payload...)},
		// A GIF comment extension holding the script inside the file.
		{"GIF with a script in a comment", shared.TypeGIF, gifWithComment(picturetest.GIF(32, 32), payload)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := mustProcess(t, tt.typ, tt.body)
			for _, b := range [][]byte{p.Full, p.Preview} {
				if bytes.Contains(b, []byte("script")) || bytes.Contains(b, []byte("<html")) {
					t.Fatalf("kept %s still holds the payload", p.Type)
				}
				decoded(t, p.Type, b)
			}
		})
	}
}

// gifWithComment puts a comment extension holding text right after the
// GIF's header and screen descriptor.
func gifWithComment(g, text []byte) []byte {
	at := 13 + 3*(2<<(g[10]&7)) // header, screen descriptor, global colour table
	if g[10]&0x80 == 0 {
		at = 13
	}
	ext := []byte{0x21, 0xFE}
	for len(text) > 0 {
		n := min(255, len(text))
		ext = append(append(ext, byte(n)), text[:n]...)
		text = text[n:]
	}
	ext = append(ext, 0)
	out := append([]byte{}, g[:at]...)
	out = append(out, ext...)
	return append(out, g[at:]...)
}

// A phone photo's EXIF, GPS included, is gone after the re-encode, and the
// orientation it named has been applied to the pixels.
func TestEXIFIsAppliedThenDropped(t *testing.T) {
	photo := picturetest.Photo(400, 200) // red left half, blue right half
	for _, tt := range []struct {
		orientation   uint16
		w, h          int
		redAt, blueAt image.Point
	}{
		{1, 400, 200, image.Pt(50, 100), image.Pt(350, 100)},
		{3, 400, 200, image.Pt(350, 100), image.Pt(50, 100)}, // upside down
		{6, 200, 400, image.Pt(100, 50), image.Pt(100, 350)}, // turned clockwise: left goes up
		{8, 200, 400, image.Pt(100, 350), image.Pt(100, 50)}, // turned counter-clockwise: left goes down
	} {
		body := picturetest.WithEXIF(photo, tt.orientation)
		if exifOrientation(body) != int(tt.orientation) || !bytes.Contains(body, []byte(picturetest.Secret)) {
			t.Fatalf("the test's EXIF block is not what it should be")
		}
		p := mustProcess(t, shared.TypeJPEG, body)
		if p.Width != tt.w || p.Height != tt.h {
			t.Fatalf("orientation %d: kept %d×%d, want %d×%d", tt.orientation, p.Width, p.Height, tt.w, tt.h)
		}
		for _, b := range [][]byte{p.Full, p.Preview} {
			if bytes.Contains(b, []byte(picturetest.Secret)) || bytes.Contains(b, []byte("MM\x00\x2a")) {
				t.Fatalf("orientation %d: EXIF survived the re-encode", tt.orientation)
			}
		}
		m := decoded(t, p.Type, p.Full)
		if r, _, b, _ := m.At(tt.redAt.X, tt.redAt.Y).RGBA(); r < b {
			t.Errorf("orientation %d: %v is not red", tt.orientation, tt.redAt)
		}
		if r, _, b, _ := m.At(tt.blueAt.X, tt.blueAt.Y).RGBA(); b < r {
			t.Errorf("orientation %d: %v is not blue", tt.orientation, tt.blueAt)
		}
	}
}

func TestEXIFOrientationOfDamagedBlocks(t *testing.T) {
	good := picturetest.WithEXIF(picturetest.Photo(8, 8), 6)
	i := bytes.Index(good, []byte("MM\x00\x2a"))
	for n := range len(good[:i+120]) {
		// Cut anywhere inside the EXIF: never a panic, never a wrong turn.
		if o := exifOrientation(good[:n]); o != 1 && o != 6 {
			t.Fatalf("cut at %d: orientation %d", n, o)
		}
	}
	bad := bytes.Clone(good)
	bad[i+4], bad[i+5], bad[i+6], bad[i+7] = 0xFF, 0xFF, 0xFF, 0xF0 // IFD offset far outside
	if o := exifOrientation(bad); o != 1 {
		t.Fatalf("IFD outside the block: orientation %d", o)
	}
}

func FuzzProcess(f *testing.F) {
	f.Add([]byte(shared.TypeJPEG), picturetest.WithEXIF(picturetest.Photo(8, 8), 6))
	f.Add([]byte(shared.TypePNG), picturetest.Drawing(8, 8, true))
	f.Add([]byte(shared.TypeGIF), picturetest.GIF(4, 4))
	f.Fuzz(func(t *testing.T, typ, body []byte) {
		p, err := Process(string(typ), body, Limits{MaxPixels: 1 << 20, MaxSide: 64, PreviewSide: 16})
		if err != nil {
			if c := shared.ErrorCode(err); c != shared.CodeInvalidImage && c != shared.CodeUnsupportedMediaType {
				t.Fatalf("error %v has code %s", err, c)
			}
			return
		}
		if p.Width > 64 || p.Height > 64 || len(p.Full) == 0 || len(p.Preview) == 0 {
			t.Fatalf("kept %+v", p)
		}
	})
}
