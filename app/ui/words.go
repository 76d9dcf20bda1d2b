package ui

import (
	"strconv"
	"time"

	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

// The page speaks English or Japanese. Every word a person reads comes
// from a words table; server error messages stay English on the wire, and
// the page says them in Japanese by their code.

// words is one language's text.
type words struct {
	Lang, Other, OtherLabel                    string // "en"; the switch's label and its accessible name
	Reload, UpdateReady, GoToBoard, BoardHint  string
	Go, Live, Connecting, Offline, Unreachable string
	Reconnecting, Retrying                     string
	In                                         func(secs int) string // " in 3 s"
	WaitingToSend                              func(n int) string
	LastLive                                   func(ago string) string
	WriteTopic, Comment, YourName, NameHint    string
	Post, Topics, Loading, Empty               string
	Older, OlderLoading, OlderFailed           string
	Edit, Delete, DeleteQ, DeleteAsModerator   string
	DeleteModQ                                 func(author string) string
	EditComment, Save, Cancel, Discard, Edited string
	Sending, Waiting, NotPosted                string
	NotDeleted, NotSaved                       string
	ModChecking, ModOn, ModUnverified          string
	ModRefused, Dismiss, StopModerating        string
	ModeratorToken, Moderate                   string
	ProblemToken, ProblemOutbox, ProblemSaved  string
	JustNow, Yesterday                         string
	MinAgo, HoursAgo                           func(n int) string
	Day, DayYear, Stamp                        string // time layouts
	// errors by code: the server's English message is said this way; nil
	// keeps the server's words.
	Errors map[shared.Code]string
}

var english = &words{
	Lang: "en", Other: "日本語", OtherLabel: "日本語で表示",
	Reload: "Reload", UpdateReady: "A new version of kairan is ready.",
	GoToBoard: "Go to board", BoardHint: "board…", Go: "Go",
	Live: "live", Connecting: "connecting…", Offline: "you are offline", Unreachable: "can't reach the server",
	Reconnecting: "reconnecting", Retrying: " · retrying",
	In:            func(s int) string { return " in " + strconv.Itoa(s) + " s" },
	WaitingToSend: func(n int) string { return " · " + strconv.Itoa(n) + " waiting to send" },
	LastLive:      func(ago string) string { return "Last live " + ago },
	WriteTopic:    "Write a topic…", Comment: "Comment", YourName: "Your name", NameHint: "Name (optional)",
	Post: "Post", Topics: "Topics", Loading: "Loading…", Empty: "No topics yet. Be the first to post.",
	Older: "Show older topics", OlderLoading: "Loading older topics…", OlderFailed: "Older topics could not be loaded: ",
	Edit: "Edit", Delete: "Delete", DeleteQ: "Delete this topic for everyone?", DeleteAsModerator: "Delete as moderator",
	DeleteModQ:  func(a string) string { return "Delete this topic by " + a + " for everyone, as moderator?" },
	EditComment: "Edit comment", Save: "Save", Cancel: "Cancel", Discard: "Discard", Edited: "edited",
	Sending: "sending…", Waiting: "waiting to send", NotPosted: "not posted",
	NotDeleted: "Not deleted: ", NotSaved: "Not saved: ",
	ModChecking:   "Checking the moderator token…",
	ModOn:         "Moderator mode: you can delete any topic.",
	ModUnverified: "Moderator mode: the token will be checked when the server can be reached.",
	ModRefused:    "That is not the moderator token, so nothing can be deleted with it.",
	Dismiss:       "Dismiss", StopModerating: "Stop moderating", ModeratorToken: "Moderator token", Moderate: "Moderate",
	ProblemToken:  "This browser could not save the key to your new topic, so after a reload you may not be able to edit or delete it. Free some storage for this site (or leave private browsing) and keep this tab open meanwhile.",
	ProblemOutbox: "This browser could not save your unsent writes; keep this tab open until they are sent.",
	ProblemSaved:  "This browser could not save this board for offline use; it will load again when you are online.",
	JustNow:       "just now", Yesterday: "yesterday",
	MinAgo:   func(n int) string { return strconv.Itoa(n) + " min ago" },
	HoursAgo: func(n int) string { return strconv.Itoa(n) + " h ago" },
	Day:      "2 Jan", DayYear: "2 Jan 2006", Stamp: "Mon 2 Jan 2006 15:04",
}

var japanese = &words{
	Lang: "ja", Other: "English", OtherLabel: "Show in English",
	Reload: "再読み込み", UpdateReady: "kairan の新しい版があります。",
	GoToBoard: "掲示板へ移動", BoardHint: "掲示板…", Go: "移動",
	Live: "ライブ", Connecting: "接続中…", Offline: "オフラインです", Unreachable: "サーバーに接続できません",
	Reconnecting: "再接続", Retrying: " · 再試行",
	In:            func(s int) string { return "まで " + strconv.Itoa(s) + " 秒" },
	WaitingToSend: func(n int) string { return " · 送信待ち " + strconv.Itoa(n) + " 件" },
	LastLive:      func(ago string) string { return "最後の接続: " + ago },
	WriteTopic:    "トピックを書く…", Comment: "本文", YourName: "名前", NameHint: "名前（任意）",
	Post: "投稿", Topics: "トピック", Loading: "読み込み中…", Empty: "まだトピックはありません。最初の投稿をどうぞ。",
	Older: "古いトピックを表示", OlderLoading: "古いトピックを読み込み中…", OlderFailed: "古いトピックを読み込めませんでした: ",
	Edit: "編集", Delete: "削除", DeleteQ: "このトピックを全員から削除しますか？", DeleteAsModerator: "管理者として削除",
	DeleteModQ: func(a string) string {
		return a + " さんのこのトピックを管理者として削除しますか？"
	},
	EditComment: "本文を編集", Save: "保存", Cancel: "キャンセル", Discard: "破棄", Edited: "編集済み",
	Sending: "送信中…", Waiting: "送信待ち", NotPosted: "投稿されませんでした",
	NotDeleted: "削除されませんでした: ", NotSaved: "保存されませんでした: ",
	ModChecking:   "管理者トークンを確認しています…",
	ModOn:         "管理者モード: どのトピックも削除できます。",
	ModUnverified: "管理者モード: サーバーにつながり次第トークンを確認します。",
	ModRefused:    "管理者トークンではありません。このトークンでは削除できません。",
	Dismiss:       "閉じる", StopModerating: "管理者モードを終了", ModeratorToken: "管理者トークン", Moderate: "管理",
	ProblemToken:  "このブラウザーは新しいトピックの鍵を保存できませんでした。再読み込みすると編集・削除できなくなる場合があります。このサイトの保存領域を空けるか、プライベートブラウズをやめ、それまでこのタブを開いたままにしてください。",
	ProblemOutbox: "このブラウザーは未送信の書き込みを保存できませんでした。送信されるまでこのタブを開いたままにしてください。",
	ProblemSaved:  "このブラウザーはこの掲示板をオフライン用に保存できませんでした。オンラインになれば再び読み込まれます。",
	JustNow:       "たった今", Yesterday: "昨日",
	MinAgo:   func(n int) string { return strconv.Itoa(n) + "分前" },
	HoursAgo: func(n int) string { return strconv.Itoa(n) + "時間前" },
	Day:      "1月2日", DayYear: "2006年1月2日", Stamp: "2006年1月2日 15:04",
	Errors: map[shared.Code]string{
		shared.CodeInvalidComment:        "本文は見える文字を含む1〜2000文字で、改行とタブ以外の制御文字や、1文字に5つ以上重ねた結合記号は使えません。",
		shared.CodeInvalidAuthor:         "名前は40文字までで、制御文字・文字の向きを変える記号・見えない文字（絵文字の中を除く）は使えません。",
		shared.CodeInvalidBoard:          "掲示板の名前は英小文字・数字・ハイフンで、64文字までです（例: night-shift）。",
		shared.CodeForbidden:             "この操作は許可されていません（自分のトピックだけを変更できます）。",
		shared.CodeUnauthorized:          "この操作には鍵が必要です。",
		shared.CodeNotFound:              "そのトピックはもうありません。",
		shared.CodeBlocked:               "使えない言葉が含まれています。",
		shared.CodeTooManyBoards:         "このサーバーでは掲示板をこれ以上増やせません。すでにトピックのある掲示板に書き込んでください。",
		shared.CodeTooManyTopics:         "このサーバーはトピック数の上限に達しているため、保存されませんでした。控えを取り、古いトピックが削除されてからもう一度どうぞ。",
		shared.CodeRateLimited:           "書き込みが速すぎます。少し待ってからもう一度どうぞ。",
		shared.CodeUnavailable:           "サーバーが一時的に使えません。少し待ってからもう一度どうぞ。",
		shared.CodeNetwork:               "サーバーに接続できません。接続を確かめてもう一度どうぞ。",
		shared.CodeBodyTooLarge:          "書き込みが大きすぎます。",
		shared.CodeInvalidImage:          "この画像は読み込めませんでした。別の写真を選ぶか、もう一度描いてください（4000万画素まで）。",
		shared.CodeUnsupportedMediaType:  "この形式は送れません。写真は JPEG・PNG・WebP・GIF で送ってください。",
		shared.CodeImageUnavailable:      "画像がサーバーにもうありません。もう一度アップロードしてください。",
		shared.CodeInternal:              "サーバーで問題が起きました。少し待ってからもう一度どうぞ。",
		shared.CodeInvalidJSON:           "書き込みを読み取れませんでした。",
		shared.CodeIdempotencyMismatch:   "同じ書き込みが別の内容で送られました。",
		shared.CodeInvalidIdempotencyKey: "書き込みの識別キーが正しくありません。ページを再読み込みしてください。",
		shared.CodeMethodNotAllowed:      "この操作はできません。",
		shared.CodeUnknownHost:           "このアドレスではkairanを使えません。サーバーの公開URLから開いてください。",
	},
}

// wordsFor is the table of lang ("ja" or anything else: English).
func wordsFor(lang string) *words {
	if lang == "ja" {
		return japanese
	}
	return english
}

// or is w, or English where a component was given none (tests).
func (w *words) or() *words {
	if w == nil {
		return english
	}
	return w
}

// errorText says err in w's language: the message as it is in English, by
// its code in Japanese.
func (w *words) errorText(err error) string {
	if t, ok := w.Errors[shared.ErrorCode(err)]; ok {
		return t
	}
	return shared.Message(err)
}

// refusal says why an op was refused for good.
func (w *words) refusal(op sync.Op) string {
	if t, ok := w.Errors[shared.Code(op.FailedCode)]; ok {
		if op.Moderator && op.FailedCode == string(shared.CodeForbidden) {
			return w.ModRefused
		}
		return t
	}
	return op.Failed
}

// ago renders t relative to now the way people say it.
func (w *words) ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 45*time.Second:
		return w.JustNow
	case d < time.Hour:
		return w.MinAgo(int(d.Round(time.Minute) / time.Minute))
	case d < 24*time.Hour:
		return w.HoursAgo(int(d / time.Hour))
	case d < 48*time.Hour:
		return w.Yesterday
	case now.Year() == t.Year():
		return t.Local().Format(w.Day)
	default:
		return t.Local().Format(w.DayYear)
	}
}
