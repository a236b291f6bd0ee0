package cloud

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/edw-project/edw/apps/internal/message"
	"github.com/edw-project/edw/apps/internal/store/table"
)

// tokens records the scopes a client asks tokens for.
type tokens struct {
	mu     sync.Mutex
	scopes []string
}

func (c *tokens) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scopes = append(c.scopes, o.Scopes...)
	return azcore.AccessToken{Token: "t", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// service answers every request with 204 and records where each went.
type service struct {
	mu   sync.Mutex
	urls []string
}

func (s *service) Do(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.urls = append(s.urls, req.Method+" "+req.URL.String())
	return &http.Response{StatusCode: http.StatusNoContent, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
}

// The consumer writes its rows to the table service it is given, with a
// token of that service: Cosmos DB's for a Cosmos DB for Table account,
// Storage's for the storage account it defaults to.
func TestTableEndpointPicksServiceAndToken(t *testing.T) {
	for _, tc := range []struct {
		name, endpoint, wantURL, wantScope string
	}{
		{"cosmos", "https://edwrows.table.cosmos.azure.com:443/", "https://edwrows.table.cosmos.azure.com:443/payments(", "https://cosmos.azure.com/.default"},
		{"storage default", "", "https://edwstore.table.core.windows.net/payments(", "https://storage.azure.com/.default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			account, name, endpoint := "edwstore", "payments", tc.endpoint
			b := &Settings{StorageAccount: &account, TableName: &name, TableEndpoint: &endpoint}
			cred, svc := &tokens{}, &service{}
			client, err := newTable(b.tableEndpoint(), name, cred, &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: svc}})
			if err != nil {
				t.Fatal(err)
			}
			rec := message.Record{Message: message.Message{ID: "m-1", Msg: []byte(`"hello"`), SrcStamp: time.Now()}, DestStamp: time.Now()}
			if errs := table.New(client).Put(context.Background(), []message.Record{rec}); errs[0] != nil {
				t.Fatal(errs[0])
			}
			if len(svc.urls) != 1 || !strings.HasPrefix(svc.urls[0], "PUT "+tc.wantURL) {
				t.Errorf("requests %v, want one PUT to %s...", svc.urls, tc.wantURL)
			}
			if len(cred.scopes) != 1 || cred.scopes[0] != tc.wantScope {
				t.Errorf("token scopes %v, want %s", cred.scopes, tc.wantScope)
			}
		})
	}
}
