package telegram

import (
	"context"
	"strings"
	"testing"

	"hermes-exec/approval"
	"hermes-exec/gateway"
	"hermes-exec/telegram/botapitest"
)

func pendingOf(r approval.Request) gateway.Pending { return gateway.Pending{Request: r} }

// BenchmarkRequestToCard is a request's way from the gateway's event to a
// card in the (stand-in) Bot API, for one approver. Compare it with
// BenchmarkSendMessage, one bare sendMessage to the same server: the
// ratio is what the bridge adds.
func BenchmarkRequestToCard(b *testing.B) {
	h := newHarness(b, setup{allowed: []int64{alice.ID}, started: []botapitest.User{alice}})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := h.hub.Add(dangerous("rm -rf /bench"))
		if _, err := h.api.WaitMessage(h.ctx, alice.ID, func(m botapitest.Message) bool { return strings.Contains(m.Text, p.ID) }); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		h.hub.Withdraw(p.ID)
		b.StartTimer()
	}
}

func BenchmarkSendMessage(b *testing.B) {
	api := botapitest.New(testToken)
	defer api.Close()
	api.Send(alice, "/start")
	br, err := newBridge(Options{Token: testToken, APIURL: api.URL()})
	if err != nil {
		b.Fatal(err)
	}
	p := dangerous("rm -rf /bench")
	text := cardText(pendingOf(p), p.Deadline)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var m apiMessage
		if err := br.api.call(context.Background(), "sendMessage", sendMessageParams{ChatID: alice.ID, Text: text, ParseMode: parseMode, ReplyMarkup: cardButtons(pendingOf(p))}, &m); err != nil {
			b.Fatal(err)
		}
	}
}
