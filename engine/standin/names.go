package standin

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// autonamed is prefix and randlen random characters from charset (hex
// when nil), cut to maxlen, as the providers' auto-naming does; the
// randomness comes from seed, the engine's seed for the resource.
func autonamed(seed []byte, prefix string, randlen, maxlen int, charset []rune) (string, error) {
	if maxlen > 0 && len(prefix)+randlen > maxlen {
		prefix = prefix[:max(maxlen-randlen, 0)]
	}
	name, err := resource.NewUniqueName(seed, prefix, randlen, maxlen, charset)
	if err != nil {
		return "", fmt.Errorf("naming %q: %w", prefix, err)
	}
	return name, nil
}

// randomHex is n random hex digits.
func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)[:n]
}

// randomGUID is a random version 4 GUID, the form of Azure's ids of
// principals and tenants.
func randomGUID() string { return guid(randomHex(32)) }

// guid formats 32 hex digits as a version 4 GUID.
func guid(h string) string {
	return fmt.Sprintf("%s-%s-4%s-8%s-%s", h[:8], h[8:12], h[13:16], h[17:20], h[20:32])
}

// kebab is an UpperCamel name in kebab case, as ARNs spell resource kinds
// ("SecurityGroup" → "security-group").
func kebab(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// lowerFirst is s with its first letter in lower case ("ManagedCluster" →
// "managedCluster").
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// alphanumeric is s without the characters that are not lower-case
// letters or digits, for the names Azure allows only those in.
func alphanumeric(s string) string {
	return strings.Map(func(r rune) rune {
		r = unicode.ToLower(r)
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			return r
		}
		return -1
	}, s)
}
