package shared

import "fmt"

// Image is a topic's picture as every topic, change and snapshot carries
// it. Type is the media type it is served with ("image/jpeg" or
// "image/png"; the preview has the same type); Width and Height are the
// stored picture's, and the preview has the same aspect ratio, so a page
// can reserve the picture's box before its bytes arrive.
type Image struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// UploadedImage is an upload as its answer describes it: the Image a post
// may attach by ID, and Bytes, the size of the picture as kept (after the
// server re-encoded it).
type UploadedImage struct {
	Image
	Bytes int64 `json:"bytes"`
}

// ImageUpload is the answer to POST /api/boards/{board}/images:
// {"image":{"id","type","width","height","bytes"}}.
type ImageUpload struct {
	Image UploadedImage `json:"image"`
}

// Media types of pictures. An upload may be any of the four; the server
// keeps only JPEG and PNG, which it can write (Go decodes WebP and GIF but
// does not encode WebP, and a re-encode drops every byte it did not draw).
const (
	TypeJPEG = "image/jpeg"
	TypePNG  = "image/png"
	TypeWebP = "image/webp"
	TypeGIF  = "image/gif"
)

// Defaults of the picture limits (the server's --max-image-bytes and
// --max-image-side). A client shrinks a picture to MaxImageSide before
// sending it, so the server's re-encode keeps its size.
const (
	MaxImageBytes  = 8 << 20
	MaxImageSide   = 2048
	PreviewSide    = 480
	MaxImagePixels = 40_000_000
)

// maxImageID bounds an image id in a post, so a hostile one is refused
// before it reaches the database.
const maxImageID = 64

// ValidateImageID checks the image_id of a post: what the server hands
// out is letters, digits, '_' and '-'. Anything else names no image the
// server has, so it is image_unavailable like an unknown one.
func ValidateImageID(id string) error {
	ok := len(id) > 0 && len(id) <= maxImageID
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
	}
	if !ok {
		return Errorf(CodeImageUnavailable, fmt.Sprintf(
			"%q is not a picture this server handed out; upload the picture again.", clip(id, 40)))
	}
	return nil
}
