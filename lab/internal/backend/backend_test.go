package backend

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadEnvFileTakesExportsOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "emulators.env")
	content := "# emulators\nexport AWS_REGION=us-east-1\nexport AZURE_STORAGE_CONNECTION_STRING='AccountName=dev;QueueEndpoint=http://127.0.0.1:10001/dev;'\nunset X\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	env, err := ReadEnvFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(env) != 2 || env["AWS_REGION"] != "us-east-1" || env["AZURE_STORAGE_CONNECTION_STRING"] != "AccountName=dev;QueueEndpoint=http://127.0.0.1:10001/dev;" {
		t.Errorf("env = %v", env)
	}
	if err := os.WriteFile(path, []byte("export BROKEN\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadEnvFile(path); err == nil || !strings.Contains(err.Error(), "BROKEN") {
		t.Errorf("err = %v, want one naming the bad line", err)
	}
}

func TestBackendsNameWhatTheRenderLacks(t *testing.T) {
	_, err := New(t.Context(), "aws", map[string]string{"SQS_QUEUE_URL": "https://sqs/work"}, nil)
	if err == nil || !strings.Contains(err.Error(), "DYNAMODB_TABLE") {
		t.Errorf("aws: err = %v, want one naming DYNAMODB_TABLE", err)
	}
	_, err = New(t.Context(), "azure", map[string]string{"AZURE_QUEUE_NAME": "work", "AZURE_POISON_QUEUE_NAME": "work-poison", "AZURE_TABLE_NAME": "payments"}, map[string]string{})
	if err == nil || !strings.Contains(err.Error(), "AZURE_STORAGE_CONNECTION_STRING") {
		t.Errorf("azure: err = %v, want one naming the connection string", err)
	}
	if _, err := New(t.Context(), "gcp", nil, nil); err == nil {
		t.Error("gcp accepted")
	}
}
