// Package picturetest builds the pictures the tests upload: photos and
// drawings made in code, and hostile files (a header claiming a billion
// pixels, EXIF with GPS, a polyglot). Only tests import it.
package picturetest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
)

// Photo is a w × h JPEG that compresses like a photo: smooth gradients
// with sensor-like noise. Its left half is reddish, its right half bluish,
// so a test can tell which way it was turned.
func Photo(w, h int) []byte {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(uint64(w), uint64(h)))
	for y := range h {
		for x := range w {
			n := uint8(r.IntN(24))
			g := uint8(y * 200 / max(1, h))
			if x < w/2 {
				m.Set(x, y, color.RGBA{200 + n/2, g/2 + n, 40 + n, 255})
			} else {
				m.Set(x, y, color.RGBA{40 + n, g/2 + n, 200 + n/2, 255})
			}
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 92}); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// Drawing is a w × h PNG like a finger drawing: a white page with a few
// strokes of flat colour; with transparent, the page is see-through.
func Drawing(w, h int, transparent bool) []byte {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	bg := color.NRGBA{255, 255, 255, 255}
	if transparent {
		bg = color.NRGBA{}
	}
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, bg)
		}
	}
	ink := []color.NRGBA{{20, 20, 20, 255}, {220, 40, 40, 255}, {40, 90, 220, 255}}
	for i, c := range ink {
		for t := range w {
			y := h/4*(i+1) + t*(i+1)%max(1, h/8)
			for d := range 6 {
				if yy := y + d; yy < h {
					m.SetNRGBA(t, yy, c)
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// GIF is a small w × h GIF.
func GIF(w, h int) []byte {
	m := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.White, color.Black})
	for i := range min(w, h) {
		m.SetColorIndex(i, i, 1)
	}
	var buf bytes.Buffer
	if err := gif.Encode(&buf, m, nil); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// PNGBomb is a PNG of a few dozen bytes whose header claims w × h pixels.
func PNGBomb(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	chunk(&b, "IHDR", ihdr)
	chunk(&b, "IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk(&b, "IEND", nil)
	return b.Bytes()
}

func chunk(b *bytes.Buffer, typ string, data []byte) {
	binary.Write(b, binary.BigEndian, uint32(len(data)))
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	b.WriteString(typ)
	b.Write(data)
	binary.Write(b, binary.BigEndian, crc.Sum32())
}

// JPEGBomb is a real small JPEG whose frame header is rewritten to claim
// w × h pixels.
func JPEGBomb(w, h uint16) []byte {
	b := Photo(16, 16)
	i := bytes.Index(b, []byte{0xFF, 0xC0})
	binary.BigEndian.PutUint16(b[i+5:], h)
	binary.BigEndian.PutUint16(b[i+7:], w)
	return b
}

// GIFBomb is a GIF whose logical screen claims 65535 × 65535.
func GIFBomb() []byte {
	b := GIF(4, 4)
	binary.LittleEndian.PutUint16(b[6:], 65535)
	binary.LittleEndian.PutUint16(b[8:], 65535)
	return b
}

// Secret is written into the EXIF of WithEXIF as the camera's description
// and GPS area name: it must not be found in anything the server keeps.
const Secret = "KAIRAN-SECRET-35.6812N-139.7671E"

// WithEXIF returns jpg with an EXIF block inserted after its start: the
// given Orientation, an ImageDescription and a GPS directory (latitude,
// longitude and an area name) that hold Secret. Big-endian ("MM"), the
// way many cameras write it.
func WithEXIF(jpg []byte, orientation uint16) []byte {
	be := binary.BigEndian
	var t bytes.Buffer
	t.WriteString("MM\x00\x2a")
	binary.Write(&t, be, uint32(8)) // IFD0 at 8
	// IFD0: 3 entries, then next-IFD 0. Entry data after it.
	const ifd0 = 8
	const ifd0Len = 2 + 3*12 + 4
	desc := ifd0 + ifd0Len // ImageDescription's text
	gps := desc + len(Secret) + 1
	entry := func(tag, typ uint16, count, value uint32) {
		binary.Write(&t, be, tag)
		binary.Write(&t, be, typ)
		binary.Write(&t, be, count)
		binary.Write(&t, be, value)
	}
	binary.Write(&t, be, uint16(3))
	entry(0x010E, 2, uint32(len(Secret)+1), uint32(desc)) // ImageDescription, ASCII
	entry(0x0112, 3, 1, uint32(orientation)<<16)          // Orientation, SHORT (left-justified)
	entry(0x8825, 4, 1, uint32(gps))                      // GPS IFD pointer
	binary.Write(&t, be, uint32(0))
	t.WriteString(Secret + "\x00")
	// GPS IFD: LatitudeRef, Latitude, LongitudeRef, Longitude, AreaInformation.
	const gpsLen = 2 + 5*12 + 4
	rationals := gps + gpsLen
	area := rationals + 48
	binary.Write(&t, be, uint16(5))
	entry(0x0001, 2, 2, uint32('N')<<24)
	entry(0x0002, 5, 3, uint32(rationals))
	entry(0x0003, 2, 2, uint32('E')<<24)
	entry(0x0004, 5, 3, uint32(rationals+24))
	entry(0x001C, 7, uint32(len(Secret)), uint32(area))
	binary.Write(&t, be, uint32(0))
	for _, v := range []uint32{35, 1, 40, 1, 5232, 100, 139, 1, 46, 1, 176, 100} {
		binary.Write(&t, be, v)
	}
	t.WriteString(Secret)

	seg := append([]byte("Exif\x00\x00"), t.Bytes()...)
	app1 := []byte{0xFF, 0xE1, 0, 0}
	be.PutUint16(app1[2:], uint16(len(seg)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, app1...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}
