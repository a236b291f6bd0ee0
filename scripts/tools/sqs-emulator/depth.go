package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"strconv"
	"time"

	"github.com/Admiral-Piett/goaws/app/models"
)

const (
	visibleAttr = "ApproximateNumberOfMessages"
	hiddenAttr  = "ApproximateNumberOfMessagesNotVisible"
	// jsonTarget is how the JSON protocol, which the AWS SDKs for Go v2
	// speak, names the call.
	jsonTarget = "AmazonSQS.GetQueueAttributes"
)

// sqsCounts gives GetQueueAttributes SQS's meaning of its counts.
// goaws v0.5.4 (app/gosqs/get_queue_attributes.go) answers
// ApproximateNumberOfMessages with every message of the queue, in flight
// included, where SQS counts only the visible ones and reports those in
// flight apart, in ApproximateNumberOfMessagesNotVisible (SQS API
// reference, GetQueueAttributes). KEDA's SQS scaler adds the two
// (scaleOnInFlight, its default), so without this a consumer's leased
// messages would count twice. Both counts are taken under one read lock,
// so they add up to the queue's messages. Only the JSON protocol is
// rewritten: every client of the emulator here uses it.
func sqsCounts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != jsonTarget {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var req struct{ QueueUrl string }
		_ = json.Unmarshal(body, &req)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		out := rec.Body.Bytes()
		if rec.Code == http.StatusOK {
			out = recount(out, path.Base(req.QueueUrl))
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(out)
	})
}

// recount replaces the counts in a GetQueueAttributes answer ({"Attributes":
// {...}}) with SQS's, leaving every other attribute and any count not
// asked for as goaws gave them.
func recount(answer []byte, queue string) []byte {
	var resp struct{ Attributes map[string]string }
	if err := json.Unmarshal(answer, &resp); err != nil || resp.Attributes == nil {
		return answer
	}
	visible, hidden, ok := counts(queue, time.Now())
	if !ok {
		return answer
	}
	for name, n := range map[string]int{visibleAttr: visible, hiddenAttr: hidden} {
		if _, asked := resp.Attributes[name]; asked {
			resp.Attributes[name] = strconv.Itoa(n)
		}
	}
	out, err := json.Marshal(resp)
	if err != nil {
		return answer
	}
	return out
}

// counts splits a queue's messages into visible and not, by goaws's own
// rule for the second (gosqs.numberOfHiddenMessagesInQueue): leased, or
// still delayed.
func counts(queue string, now time.Time) (visible, hidden int, ok bool) {
	models.SyncQueues.RLock()
	defer models.SyncQueues.RUnlock()
	q, ok := models.SyncQueues.Queues[queue]
	if !ok {
		return 0, 0, false
	}
	for _, m := range q.Messages {
		delayed := m.DelaySecs > 0 && now.Before(m.SentTime.Add(time.Duration(m.DelaySecs)*time.Second))
		if m.ReceiptHandle != "" || delayed {
			hidden++
		}
	}
	return len(q.Messages) - hidden, hidden, true
}
