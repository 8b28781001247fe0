package iam

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kagikms/kagi/internal/auth"
	"github.com/kagikms/kagi/internal/storage"
)

// Services are the integrated services of a deployment: an object store, a
// database, a queue that encrypts its users' data with kagi, as Amazon S3
// or EBS do with AWS KMS. Each is a service principal
// (<name>.amazonaws.com) with access keys of its own; it calls kagi for
// itself (principal type AWSService, matched by "Principal": {"Service":
// …} in key policies) or on behalf of a caller whose access key it
// forwards (see api: X-Kagi-Forwarded-Access-Key-Id). Services are made by
// `kagi admin create-service`, never through the API.

// TypeService is the principal type of a service calling for itself, as
// CloudTrail's userIdentity.type names it.
const TypeService = "AWSService"

// ownerService marks an access key of a service principal.
const ownerService = "service"

// Errors of the service administration that `kagi admin` tells apart.
var (
	ErrServiceExists = errors.New("iam: the service exists")
	ErrNoSuchService = errors.New("iam: no such service")
)

// Service is a registered service as `kagi admin list-services` shows it.
type Service struct {
	Name string // "s3"
	// Principal is the service principal: "s3.amazonaws.com".
	Principal string
	// DisplayName names the service in the AWS managed key it gets
	// ("S3": "Default key that protects my S3 data when no other key is
	// defined").
	DisplayName string
	Created     time.Time
}

type serviceRecord struct {
	Name        string    `json:"name"`
	DisplayName string    `json:"display"`
	Created     time.Time `json:"created"`
}

func serviceKey(name string) []byte              { return []byte("iam/service/" + name) }
func serviceKeyPrefix(name string) []byte        { return []byte("iam/servicekey/" + name + "/") }
func servicePrincipal(name string) string        { return name + ".amazonaws.com" }
func (r *serviceRecord) identity() auth.Identity { return serviceIdentity(r.Name) }

func serviceIdentity(name string) auth.Identity {
	p := servicePrincipal(name)
	return auth.Identity{ARN: p, PrincipalID: p, Type: TypeService, ServicePrincipal: p}
}

// ValidServiceName reports whether name can name a service: 1 to 63
// lower-case letters, digits and hyphens, starting with a letter, as the
// first label of AWS's service principals (s3, ec2, secretsmanager,
// rds-db) is.
func ValidServiceName(name string) bool {
	if name == "" || len(name) > 63 || name[0] < 'a' || name[0] > 'z' || strings.HasSuffix(name, "-") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// CreateService registers a service and gives its principal an access
// key. The secret is returned once and stored only sealed. displayName ""
// means the name in upper case.
func (s *Store) CreateService(ctx context.Context, name, displayName string) (principal, accessKeyID, secret string, err error) {
	if !ValidServiceName(name) {
		return "", "", "", fmt.Errorf("iam: service name %q must be 1 to 63 lower-case letters, digits and hyphens, starting with a letter", name)
	}
	if displayName == "" {
		displayName = strings.ToUpper(name)
	}
	if len(displayName) > 64 || strings.ContainsAny(displayName, "\"\\\x00\n\r\t") {
		return "", "", "", fmt.Errorf("iam: display name %q must be at most 64 characters without quotes, backslashes or control characters", displayName)
	}
	akid, secret, err := NewAccessKey()
	if err != nil {
		return "", "", "", err
	}
	sealed, err := s.sealer.Seal([]byte(secret), secretAAD(akid))
	if err != nil {
		return "", "", "", fmt.Errorf("iam: seal secret: %w", err)
	}
	now := s.now()
	rec := accessKeyRecord{AccessKeyID: akid, Principal: ownerService, UserName: name, Status: statusActive, SealedSecret: sealed, Created: now}
	err = s.update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(serviceKey(name)); err == nil {
			return ErrServiceExists
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if err := putJSON(tx, serviceKey(name), serviceRecord{Name: name, DisplayName: displayName, Created: now}); err != nil {
			return err
		}
		return putNewKey(tx, serviceKeyPrefix(name), rec)
	})
	if err != nil {
		return "", "", "", fmt.Errorf("iam: create service %s: %w", name, err)
	}
	return servicePrincipal(name), akid, secret, nil
}

// ListServices returns the registered services, in order of name.
func (s *Store) ListServices(ctx context.Context) ([]Service, error) {
	var out []Service
	err := s.store.View(ctx, func(tx storage.Tx) error {
		kvs, _, err := tx.List([]byte("iam/service/"), nil, 0)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			var rec serviceRecord
			if err := getJSON(tx, kv.Key, &rec); err != nil {
				return err
			}
			out = append(out, Service{Name: rec.Name, Principal: servicePrincipal(rec.Name), DisplayName: rec.DisplayName, Created: rec.Created})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("iam: list services: %w", err)
	}
	return out, nil
}

// DeleteService removes a service and its access keys. The AWS managed
// keys it made stay: they belong to the accounts of its callers, and a
// service registered again under the same name uses them again.
func (s *Store) DeleteService(ctx context.Context, name string) error {
	err := s.update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(serviceKey(name)); errors.Is(err, storage.ErrNotFound) {
			return ErrNoSuchService
		} else if err != nil {
			return err
		}
		kvs, _, err := tx.List(serviceKeyPrefix(name), nil, 0)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			akid := strings.TrimPrefix(string(kv.Key), string(serviceKeyPrefix(name)))
			if err := tx.Delete(accessKeyKey(akid)); err != nil {
				return err
			}
			if err := tx.Delete(kv.Key); err != nil {
				return err
			}
		}
		return tx.Delete(serviceKey(name))
	})
	if err != nil {
		return fmt.Errorf("iam: delete service %s: %w", name, err)
	}
	return nil
}

// ServiceDisplayName reports whether a service is registered and the name
// its AWS managed key uses (kms.ServiceRegistry).
func (s *Store) ServiceDisplayName(ctx context.Context, name string) (string, bool, error) {
	if !ValidServiceName(name) {
		return "", false, nil
	}
	var rec serviceRecord
	err := s.store.View(ctx, func(tx storage.Tx) error { return getJSON(tx, serviceKey(name), &rec) })
	if errors.Is(err, storage.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("iam: look up service %s: %w", name, err)
	}
	return rec.DisplayName, true, nil
}

// lookupServiceKey finds the service that owns an access key, which must
// still be registered.
func lookupServiceKey(tx storage.Tx, rec *accessKeyRecord) (auth.Identity, error) {
	var svc serviceRecord
	if err := getJSON(tx, serviceKey(rec.UserName), &svc); err != nil {
		return auth.Identity{}, err
	}
	return svc.identity(), nil
}
