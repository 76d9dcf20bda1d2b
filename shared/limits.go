package shared

// Limits of the wire contract. A character is a Unicode code point.
const (
	MaxCommentChars    = 2000
	MaxAuthorChars     = 40
	MaxBodyBytes       = 16 << 10
	DefaultSnapshotLen = 100
	MaxSnapshotLen     = 500
	MaxIdempotencyKey  = 64
	MinIdempotencyKey  = 22 // 128 bits in base64url
	// AnonymousAuthor is stored when a post names no author.
	AnonymousAuthor = "anonymous"
)
