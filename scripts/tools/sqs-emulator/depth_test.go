package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/Admiral-Piett/goaws/app/models"
	"github.com/Admiral-Piett/goaws/app/router"
)

// call makes one JSON-protocol SQS call and decodes its answer.
func call(t *testing.T, url, action string, in map[string]any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(in)
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AmazonSQS."+action)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d, %v", action, resp.StatusCode, err)
	}
	return out
}

// TestCountsAsSQS: with 5 messages, 2 of them received and not yet deleted,
// SQS reports 3 visible and 2 not visible. goaws alone reports 5 and 2, so
// a scaler adding the two, as KEDA's does, would see 7.
func TestCountsAsSQS(t *testing.T) {
	models.ResetApp()
	for _, tc := range []struct {
		name             string
		handler          http.Handler
		visible, flights string
	}{
		{"rewritten", sqsCounts(router.New()), "3", "2"},
		{"goaws alone", router.New(), "5", "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			name := "q-" + strings.ReplaceAll(tc.name, " ", "-")
			url := call(t, srv.URL, "CreateQueue", map[string]any{"QueueName": name})["QueueUrl"].(string)
			for range 5 {
				call(t, srv.URL, "SendMessage", map[string]any{"QueueUrl": url, "MessageBody": "m"})
			}
			got := call(t, srv.URL, "ReceiveMessage", map[string]any{"QueueUrl": url, "MaxNumberOfMessages": 2, "VisibilityTimeout": 60})
			if n := len(got["Messages"].([]any)); n != 2 {
				t.Fatalf("received %d messages, want 2", n)
			}
			attrs := call(t, srv.URL, "GetQueueAttributes", map[string]any{"QueueUrl": url,
				"AttributeNames": []string{visibleAttr, hiddenAttr}})["Attributes"].(map[string]any)
			if attrs[visibleAttr] != tc.visible || attrs[hiddenAttr] != tc.flights {
				t.Errorf("%s=%v %s=%v, want %s and %s", visibleAttr, attrs[visibleAttr], hiddenAttr, attrs[hiddenAttr], tc.visible, tc.flights)
			}
			// A count not asked for stays out of the answer.
			only := call(t, srv.URL, "GetQueueAttributes", map[string]any{"QueueUrl": url,
				"AttributeNames": []string{visibleAttr}})["Attributes"].(map[string]any)
			if _, ok := only[hiddenAttr]; ok || only[visibleAttr] != tc.visible {
				t.Errorf("asked for %s only, got %v", visibleAttr, only)
			}
		})
	}
}
