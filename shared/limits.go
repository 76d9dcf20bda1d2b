package shared

// Limits of the wire contract. A character is a Unicode code point.
const (
	MaxCommentChars    = 2000
	MaxAuthorChars     = 40
	MaxBodyBytes       = 16 << 10
	DefaultSnapshotLen = 100
	MaxSnapshotLen     = 500
	MaxIdempotencyKey  = 64
	// AnonymousAuthor is stored when a post names no author.
	AnonymousAuthor = "anonymous"
)
