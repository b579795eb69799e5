package branding

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/destination"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/store"
)

// DomainInfo is a registered domain with the DNS records its owner must
// publish.
type DomainInfo struct {
	Domain    string `json:"domain"`
	Selector  string `json:"selector"`
	Algorithm string `json:"algorithm"`
	// DKIMName and DKIMRecord are the TXT record to publish.
	DKIMName   string `json:"dkimName"`
	DKIMRecord string `json:"dkimRecord"`
	// SPF explains what the domain's SPF record must allow.
	SPF       string `json:"spf"`
	CreatedAt string `json:"createdAt"`
}

// AddDomain registers domain for c with a DKIM key: the given PEM private
// key (RSA of at least 2048 bits, or Ed25519), or a new RSA-2048 key when
// pemKey is empty. It fails with ErrInvalid.
func (s *Service) AddDomain(ctx context.Context, c *store.Client, domain, selector string,
	pemKey []byte) (DomainInfo, error) {
	domain, err := canonicalDomain(domain)
	if err != nil {
		return DomainInfo{}, err
	}
	if selector == "" {
		selector = "mfa"
	}
	if !validSelector(selector) {
		return DomainInfo{}, fmt.Errorf("%w: selector must be DNS labels of letters, digits and -", ErrInvalid)
	}
	if len(pemKey) == 0 {
		if pemKey, err = newRSAKey(); err != nil {
			return DomainInfo{}, err
		}
	}

	alg, pub, err := publicKey(pemKey)
	if err != nil {
		return DomainInfo{}, err
	}
	d := &store.Domain{ClientID: c.ID, Domain: domain, Selector: selector, Algorithm: alg,
		PublicKey: pub, CreatedAt: time.Now().UTC()}
	d.SealedKey = s.data.Seal(pemKey, []byte(c.ID+"/"+domain))
	if err := s.store.PutDomain(d); err != nil {
		return DomainInfo{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if err := s.publishDKIM(ctx, d, pemKey); err != nil {
		return DomainInfo{}, err
	}
	return infoOf(d), nil
}

func canonicalDomain(domain string) (string, error) {
	e, err := destination.ParseEmail("postmaster@"+strings.TrimSpace(domain), destination.EmailOptions{})
	if err != nil {
		return "", fmt.Errorf("%w: %.64q is not a domain name", ErrInvalid, domain)
	}
	return e.Domain, nil
}

func validSelector(s string) bool {
	if len(s) > 63 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}

	return true
}

func newRSAKey() ([]byte, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generating dkim key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// publicKey checks a PEM private key and returns its DKIM k= tag and the
// base64 public key for p=.
func publicKey(pemKey []byte) (string, string, error) {
	block, _ := pem.Decode(pemKey)
	if block == nil {
		return "", "", fmt.Errorf("%w: the DKIM key is not PEM", ErrInvalid)
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		err = errors.New("unsupported PEM block " + block.Type)
	}
	if err != nil {
		return "", "", fmt.Errorf("%w: DKIM key: %w", ErrInvalid, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return "", "", fmt.Errorf("%w: RSA DKIM keys must have at least 2048 bits", ErrInvalid)
		}
		der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			return "", "", err
		}
		return "rsa", base64.StdEncoding.EncodeToString(der), nil
	case ed25519.PrivateKey:
		return "ed25519", base64.StdEncoding.EncodeToString(k.Public().(ed25519.PublicKey)), nil
	default:
		return "", "", fmt.Errorf("%w: DKIM keys must be RSA or Ed25519", ErrInvalid)
	}
}

func infoOf(d *store.Domain) DomainInfo {
	return DomainInfo{
		Domain: d.Domain, Selector: d.Selector, Algorithm: d.Algorithm,
		DKIMName:   d.Selector + "._domainkey." + d.Domain,
		DKIMRecord: "v=DKIM1; k=" + d.Algorithm + "; p=" + d.PublicKey,
		SPF: "the SPF record of " + d.Domain + " must allow the SMTP relay the email workers use, " +
			`for example "v=spf1 include:<your relay's SPF domain> ~all"`,
		CreatedAt: d.CreatedAt.Format(time.RFC3339),
	}
}

func (s *Service) publishDKIM(ctx context.Context, d *store.Domain, pemKey []byte) error {
	rec := &events.DKIMRecord{ClientID: d.ClientID, Domain: d.Domain, Selector: d.Selector}
	rec.Seal(s.delivery, pemKey)
	data, err := events.MarshalConfig(rec)
	if err != nil {
		return err
	}
	if _, err := s.kv.Put(ctx, events.DKIMKey(d.ClientID, d.Domain), data); err != nil {
		return fmt.Errorf("%w: publishing dkim key: %w", ErrUnavailable, err)
	}
	return nil
}

// publishAllDKIM republishes every stored DKIM key, resealed under the
// current delivery key.
func (s *Service) publishAllDKIM(ctx context.Context) error {
	list, err := s.store.ListDomains("")
	if err != nil {
		return fmt.Errorf("loading domains: %w", err)
	}
	for _, d := range list {
		pemKey, err := s.data.Open(d.SealedKey, []byte(d.ClientID+"/"+d.Domain))
		if err != nil {
			return fmt.Errorf("unsealing dkim key of %s: %w", d.Domain, err)
		}
		if err := s.publishDKIM(ctx, d, pemKey); err != nil {
			return err
		}
	}

	return nil
}

// Domains returns a client's registered domains.
func (s *Service) Domains(clientID string) ([]DomainInfo, error) {
	list, err := s.store.ListDomains(clientID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	out := []DomainInfo{}
	for _, d := range list {
		out = append(out, infoOf(d))
	}
	return out, nil
}

// DeleteDomain removes a client's domain and its DKIM key, unless the
// client's sender uses it. hold runs its function with the client as it
// is while no update of the client can run, so that a sender moving onto
// the domain meanwhile cannot slip past the check. It fails with
// ErrInvalid, ErrNotFound or ErrUnavailable, or hold's error.
func (s *Service) DeleteDomain(ctx context.Context, hold func(func(*store.Client) error) error,
	clientID, domain string) error {
	domain, err := canonicalDomain(domain)
	if err != nil {
		return err
	}
	err = hold(func(c *store.Client) error {
		if domainOf(c.EmailSender.FromAddress) == domain || domainOf(c.EmailSender.ReplyTo) == domain {
			return fmt.Errorf("%w: the client's sender uses %s; change it first", ErrInvalid, domain)
		}
		if err := s.store.DeleteDomain(c.ID, domain); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return ErrNotFound
			}
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return nil
	})
	if err != nil {
		return err
	}

	if err := s.kv.Delete(ctx, events.DKIMKey(clientID, domain)); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

func domainOf(addr string) string {
	if _, d, ok := strings.Cut(addr, "@"); ok {
		return strings.ToLower(d)
	}
	return ""
}

// CheckSender validates a client's email sender: From (and Reply-To, when
// set) must be bare addresses on domains the client registered, and the
// name printable. It returns the sender with the address domains in
// canonical form and DKIMDomain set. It fails with ErrInvalid.
func (s *Service) CheckSender(c *store.Client, es store.EmailSender) (store.EmailSender, error) {
	if es.FromAddress == "" {
		if es.ReplyTo != "" || es.FromName != "" {
			return es, fmt.Errorf("%w: emailSender needs a fromAddress", ErrInvalid)
		}
		return store.EmailSender{}, nil
	}

	if len(es.FromName) > 64 || strings.ContainsFunc(es.FromName, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return es, fmt.Errorf("%w: fromName must be at most 64 printable characters", ErrInvalid)
	}
	domains, err := s.store.ListDomains(c.ID)
	if err != nil {
		return es, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	registered := map[string]bool{}
	for _, d := range domains {
		registered[d.Domain] = true
	}
	out := es
	for _, f := range []*string{&out.FromAddress, &out.ReplyTo} {
		if *f == "" {
			continue
		}
		e, err := destination.ParseEmail(*f, destination.EmailOptions{})
		if err != nil || !registered[e.Domain] {
			return es, fmt.Errorf("%w: %s must be an address on a domain the client registered", ErrInvalid, *f)
		}
		*f = e.Address
	}

	out.DKIMDomain = domainOf(out.FromAddress)

	return out, nil
}

// ValidSMSSender reports whether s is an alphanumeric sender id (3 to 11
// letters and digits, not all digits) or an E.164 number.
func ValidSMSSender(s string) bool {
	if strings.HasPrefix(s, "+") {
		if len(s) < 8 || len(s) > 16 {
			return false
		}
		for i := 1; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}

		return true
	}

	if len(s) < 3 || len(s) > 11 {
		return false
	}
	letters := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letters++
		case c >= '0' && c <= '9':
		default:
			return false
		}
	}

	return letters > 0
}
