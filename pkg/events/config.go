package events

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ciam-mfa/ciam-mfa/pkg/keyring"
)

// Keys in BucketConfig. Client ids and template names are limited to
// characters that key-value keys allow; domains are DNS names.
//
//	template.<clientId>.<name>  TemplateRecord, the current version
//	dkim.<clientId>.<domain>    DKIMRecord

// TemplateKey is the BucketConfig key of a client's template.
func TemplateKey(clientID, name string) string { return "template." + clientID + "." + name }

// DKIMKey is the BucketConfig key of a client's DKIM key for domain.
func DKIMKey(clientID, domain string) string { return "dkim." + clientID + "." + domain }

// Brand holds a client's branding, for templates.
type Brand struct {
	LogoURL      string `json:"logoUrl,omitempty"`
	PrimaryColor string `json:"primaryColor,omitempty"`
	SupportEmail string `json:"supportEmail,omitempty"`
}

// TemplateRecord is a client's uploaded template as workers load it.
type TemplateRecord struct {
	Version   int               `json:"v"`
	ClientID  string            `json:"clientId"`
	Name      string            `json:"name"`
	Revision  int               `json:"revision"`
	Files     map[string]string `json:"files"`
	UpdatedAt time.Time         `json:"updatedAt"`
}

// DKIMRecord is a client's DKIM signing key for one domain. The private
// key (PEM) is sealed under the delivery key ring, which only mfa-api and
// the workers hold.
type DKIMRecord struct {
	Version   int    `json:"v"`
	ClientID  string `json:"clientId"`
	Domain    string `json:"domain"`
	Selector  string `json:"selector"`
	SealedKey []byte `json:"sealedKey"`
}

func (r *DKIMRecord) aad() []byte {
	return []byte("dkim/" + r.ClientID + "/" + r.Domain + "/" + r.Selector)
}

// Seal stores the PEM private key in r under ring's primary key.
func (r *DKIMRecord) Seal(ring *keyring.AEAD, pem []byte) { r.SealedKey = ring.Seal(pem, r.aad()) }

// Open returns the PEM private key. It fails with the keyring's errors.
func (r *DKIMRecord) Open(ring *keyring.AEAD) ([]byte, error) { return ring.Open(r.SealedKey, r.aad()) }

// MarshalConfig encodes a TemplateRecord or DKIMRecord for the bucket.
func MarshalConfig(v any) ([]byte, error) {
	switch r := v.(type) {
	case *TemplateRecord:
		r.Version = SchemaVersion
	case *DKIMRecord:
		r.Version = SchemaVersion
	default:
		return nil, fmt.Errorf("%w: %T is not a config record", ErrSchema, v)
	}
	return json.Marshal(v)
}

// UnmarshalConfig decodes a bucket value into v. It fails with ErrSchema.
func UnmarshalConfig(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %w", ErrSchema, err)
	}
	return nil
}
