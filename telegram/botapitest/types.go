package botapitest

// The Bot API objects the stand-in sends and stores, with the field names
// of https://core.telegram.org/bots/api. Only the fields an approval bridge
// meets are modelled.

// User is a Telegram user or bot.
type User struct {
	ID        int64  `json:"id"`
	IsBot     bool   `json:"is_bot"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name,omitempty"`
	Username  string `json:"username,omitempty"`
}

// Chat is a conversation; a private chat's id is its user's id.
type Chat struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"` // private, group, supergroup, channel
	Title     string `json:"title,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	Username  string `json:"username,omitempty"`
}

// MessageEntity marks a command, bold text, code... in a message's text.
type MessageEntity struct {
	Type   string `json:"type"`
	Offset int    `json:"offset"` // UTF-16 code units
	Length int    `json:"length"`
}

// Message is a message in a chat.
type Message struct {
	MessageID      int64                 `json:"message_id"`
	From           *User                 `json:"from,omitempty"`
	Chat           Chat                  `json:"chat"`
	Date           int64                 `json:"date"`
	EditDate       int64                 `json:"edit_date,omitempty"`
	Text           string                `json:"text,omitempty"`
	Entities       []MessageEntity       `json:"entities,omitempty"`
	ReplyToMessage *Message              `json:"reply_to_message,omitempty"`
	ReplyMarkup    *InlineKeyboardMarkup `json:"reply_markup,omitempty"`
}

// InlineKeyboardMarkup is the buttons under a message.
type InlineKeyboardMarkup struct {
	InlineKeyboard [][]InlineKeyboardButton `json:"inline_keyboard"`
}

// InlineKeyboardButton is one button; exactly one optional field is set.
type InlineKeyboardButton struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data,omitempty"`
	URL          string `json:"url,omitempty"`
}

// CallbackQuery is a click on an inline button.
type CallbackQuery struct {
	ID           string   `json:"id"`
	From         User     `json:"from"`
	Message      *Message `json:"message,omitempty"`
	ChatInstance string   `json:"chat_instance"`
	Data         string   `json:"data,omitempty"`
}

// Update is one incoming event for the bot.
type Update struct {
	UpdateID      int64          `json:"update_id"`
	Message       *Message       `json:"message,omitempty"`
	CallbackQuery *CallbackQuery `json:"callback_query,omitempty"`
}

// WebhookInfo is getWebhookInfo's result.
type WebhookInfo struct {
	URL                  string `json:"url"`
	HasCustomCertificate bool   `json:"has_custom_certificate"`
	PendingUpdateCount   int    `json:"pending_update_count"`
}

// Button returns the button of m whose callback data is data, if any.
func (m Message) Button(data string) (InlineKeyboardButton, bool) {
	for _, row := range m.Buttons() {
		for _, b := range row {
			if b.CallbackData == data {
				return b, true
			}
		}
	}
	return InlineKeyboardButton{}, false
}

// Buttons returns m's inline keyboard (nil when it has none).
func (m Message) Buttons() [][]InlineKeyboardButton {
	if m.ReplyMarkup == nil {
		return nil
	}
	return m.ReplyMarkup.InlineKeyboard
}

// ButtonByText returns the first button whose text contains s.
func (m Message) ButtonByText(s string) (InlineKeyboardButton, bool) {
	for _, row := range m.Buttons() {
		for _, b := range row {
			if containsFold(b.Text, s) {
				return b, true
			}
		}
	}
	return InlineKeyboardButton{}, false
}
