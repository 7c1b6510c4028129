package shim

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"hermes-exec/policy"
)

// The hand-written encoder must write exactly json.Marshal's bytes: the
// hash chain is over them, and older and newer wrappers share one log.
func TestMarshalRecordIsJSONMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		r := randomRecord(rng)
		want, werr := json.Marshal(&r)
		got, gerr := marshalRecord(&r)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("record %d: json.Marshal error %v, marshalRecord error %v", i, werr, gerr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("record %d differs:\n got %s\nwant %s", i, got, want)
		}
		if werr != nil || !validDecisions(r.Findings) {
			continue
		}
		var back Record
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("record %d does not decode: %v\n%s", i, err, got)
		}
	}
}

// A record as the flow writes it reads back field for field.
func TestMarshalRecordRoundTrip(t *testing.T) {
	code := 3
	r := Record{Seq: 7, Prev: strings.Repeat("ab", 32), ID: "id", Event: EventOutcome,
		Time: time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC), Session: "s", User: "u", Cwd: "/w",
		Command: "echo '<a>' && x\n\u2028\xff", Decision: "allow", Verdict: "ask",
		Findings: []policy.Finding{{Rule: "r", Description: "d", Command: "c", Pos: "1:1", Decision: policy.Ask, AllowedBy: "git push"}},
		Approver: "me", Channel: ChannelAllowlist, Reason: "because", Backend: "host", Exit: &code, DurationMS: 1.25,
		Parents: []string{"bash -c x"}}
	b, err := marshalRecord(&r)
	if err != nil {
		t.Fatal(err)
	}
	var back Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	r.Command = strings.ToValidUTF8(r.Command, "\ufffd")
	if !reflect.DeepEqual(back, r) {
		t.Fatalf("decoded %+v\nwant    %+v", back, r)
	}
}

func validDecisions(fs []policy.Finding) bool {
	for _, f := range fs {
		if f.Decision > policy.Deny {
			return false // written as "Decision(N)", which does not read back
		}
	}
	return true
}

func randomRecord(rng *rand.Rand) Record {
	str := func() string { return randomString(rng) }
	opt := func() string {
		if rng.IntN(3) == 0 {
			return ""
		}
		return str()
	}
	r := Record{Seq: rng.Uint64() >> uint(rng.IntN(64)), Prev: opt(), ID: opt(), Event: opt(),
		Session: opt(), User: str(), Cwd: str(), Command: str(), Decision: opt(), Verdict: opt(),
		Approver: opt(), Channel: opt(), Reason: opt(), Backend: opt()}
	switch rng.IntN(4) {
	case 0:
		r.Time = time.Now().UTC()
	case 1:
		r.Time = time.Unix(rng.Int64N(1<<36)-1<<35, rng.Int64N(1e9)).In(time.FixedZone("z", (rng.IntN(48)-24)*1800))
	case 2:
		r.Time = time.Date(10000+rng.IntN(10), 1, 1, 0, 0, 0, 0, time.UTC) // json.Marshal refuses it
	}
	if rng.IntN(4) == 0 {
		r.Chain = &ChainMark{Kind: str(), Nonce: opt(), From: opt(), Unchained: rng.IntN(3) * rng.Int()}
	}
	if rng.IntN(4) != 0 {
		r.Findings = []policy.Finding{}
		for n := rng.IntN(4); n > 0; n-- {
			r.Findings = append(r.Findings, policy.Finding{Rule: str(), Description: str(), Command: str(), Pos: opt(),
				Decision: policy.Decision(rng.IntN(5)), AllowedBy: opt(), Argv: []string{str()}})
		}
	}
	if rng.IntN(2) == 0 {
		e := rng.IntN(512) - 256
		r.Exit = &e
	}
	floats := []float64{0, math.Copysign(0, -1), 1e-7, 1e-6, 0.001, 1.5, 123456.789, 1e20, 1e21, 1e300,
		math.NaN(), math.Inf(1), -2.5, math.SmallestNonzeroFloat64}
	if rng.IntN(2) == 0 {
		r.DurationMS = floats[rng.IntN(len(floats))]
	} else {
		r.DurationMS = float64(rng.IntN(1e7)) / 1000
	}
	for n := rng.IntN(3); n > 0; n-- {
		r.Parents = append(r.Parents, str())
	}
	if rng.IntN(5) == 0 {
		r.Parents = []string{} // empty, not nil: omitted all the same
	}
	return r
}

// randomString mixes plain text with everything JSON escapes: quotes,
// backslashes, HTML characters, control bytes, invalid UTF-8, U+2028/9.
func randomString(rng *rand.Rand) string {
	pieces := []string{"a", "rm -rf /", " ", "\"", "\\", "<", ">", "&", "\n", "\r", "\t", "\b", "\f",
		"\x00", "\x1f", "\x7f", "\xff", "\xc3", "\xe2\x80", "é", "日本", "\u2028", "\u2029", "\U0001F600",
		"'", "$(x)", "=", "\ufffd"}
	var b strings.Builder
	for n := rng.IntN(8); n > 0; n-- {
		if rng.IntN(4) == 0 {
			b.WriteByte(byte(rng.IntN(256)))
		} else {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
	}
	return b.String()
}
