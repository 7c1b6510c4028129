package telegram

// The Bot API objects the bridge reads and writes
// (https://core.telegram.org/bots/api), only the fields it uses.

type apiUser struct {
	ID        int64  `json:"id"`
	IsBot     bool   `json:"is_bot"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name,omitempty"`
	Username  string `json:"username,omitempty"`
}

type apiChat struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
}

type apiMessage struct {
	MessageID      int64       `json:"message_id"`
	From           *apiUser    `json:"from,omitempty"`
	Chat           apiChat     `json:"chat"`
	Date           int64       `json:"date"`
	Text           string      `json:"text,omitempty"`
	ReplyToMessage *apiMessage `json:"reply_to_message,omitempty"`
}

type apiCallbackQuery struct {
	ID      string      `json:"id"`
	From    apiUser     `json:"from"`
	Message *apiMessage `json:"message,omitempty"`
	Data    string      `json:"data,omitempty"`
}

type apiUpdate struct {
	UpdateID      int64             `json:"update_id"`
	Message       *apiMessage       `json:"message,omitempty"`
	CallbackQuery *apiCallbackQuery `json:"callback_query,omitempty"`
}

type inlineButton struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data"`
}

type inlineKeyboard struct {
	InlineKeyboard [][]inlineButton `json:"inline_keyboard"`
}

// noButtons removes a message's inline keyboard when sent with an edit.
var noButtons = &inlineKeyboard{InlineKeyboard: [][]inlineButton{}}

type sendMessageParams struct {
	ChatID      int64           `json:"chat_id"`
	Text        string          `json:"text"`
	ParseMode   string          `json:"parse_mode,omitempty"`
	ReplyMarkup *inlineKeyboard `json:"reply_markup,omitempty"`
	// Cards carry no links; a preview of one would only be noise.
	LinkPreview *linkPreviewOptions `json:"link_preview_options,omitempty"`
}

type linkPreviewOptions struct {
	IsDisabled bool `json:"is_disabled"`
}

type editMessageTextParams struct {
	ChatID      int64               `json:"chat_id"`
	MessageID   int64               `json:"message_id"`
	Text        string              `json:"text"`
	ParseMode   string              `json:"parse_mode,omitempty"`
	ReplyMarkup *inlineKeyboard     `json:"reply_markup,omitempty"`
	LinkPreview *linkPreviewOptions `json:"link_preview_options,omitempty"`
}

type answerCallbackParams struct {
	CallbackQueryID string `json:"callback_query_id"`
	Text            string `json:"text,omitempty"`
	ShowAlert       bool   `json:"show_alert,omitempty"`
}

type getUpdatesParams struct {
	Offset         int64    `json:"offset,omitempty"`
	Limit          int      `json:"limit,omitempty"`
	Timeout        int      `json:"timeout"`
	AllowedUpdates []string `json:"allowed_updates"`
}

type deleteWebhookParams struct {
	DropPendingUpdates bool `json:"drop_pending_updates"`
}
