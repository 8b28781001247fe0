// Package kms is the key management core: key lifecycle, aliases, tags and
// the cryptographic operations, with AWS KMS's validation and key-state
// rules. It knows no HTTP: the api package decodes requests into the input
// types here and encodes the outputs.
package kms

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/kagikms/kagi/internal/arn"
	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/clock"
	"github.com/kagikms/kagi/internal/keystore"
	"github.com/kagikms/kagi/internal/policy"
	"github.com/kagikms/kagi/internal/storage"
)

// Caller is the authenticated principal a request runs as, and what the
// request's condition keys need to know of where it came from.
type Caller struct {
	Partition string // "aws"
	AccountID string
	Region    string // from the request's SigV4 credential scope
	ARN       string // the principal's ARN

	// Principal is the caller as policies see it.
	Principal policy.Principal
	// IdentityPolicies are the caller's IAM policies (none for the root).
	IdentityPolicies []*policy.Policy
	SourceIP         string // aws:SourceIp
	SecureTransport  bool   // aws:SecureTransport
	// ViaService is kms:ViaService: the endpoint of the service that calls
	// on the caller's behalf, "<name>.<region>.amazonaws.com" ("" for a
	// direct call).
	ViaService string
	// CalledVia is that service's principal, "<name>.amazonaws.com":
	// aws:CalledVia, aws:CalledViaFirst, aws:CalledViaLast, and the
	// invokedBy of the request's record.
	CalledVia string
	// SourceArn is aws:SourceArn: the resource a service calling for
	// itself acts for ("" when it names none, and for every other caller);
	// SourceAccount, aws:SourceAccount, is that ARN's account.
	SourceArn     string
	SourceAccount string
	// RequestID is the request's x-amzn-RequestId (GetKeyLastUsage's
	// KmsRequestId).
	RequestID string
	// EventID is the eventID of the request's audit record
	// (GetKeyLastUsage's CloudTrailEventId); empty without an audit trail.
	EventID string
	// Keys are the ARNs of the keys the request resolved, in order, each
	// once: the resources of its audit record. kms appends to it as it
	// loads keys, whether or not the request is then allowed.
	Keys []string

	// counted: the request has been counted against a key type's shared
	// cryptographic quota (quota.go), so a second key it loads is not.
	counted bool
}

// noteKey adds a key the request resolved to c.Keys.
func (c *Caller) noteKey(keyARN string) {
	if keyARN != "" && !slices.Contains(c.Keys, keyARN) {
		c.Keys = append(c.Keys, keyARN)
	}
}

// Sealer seals and opens small secrets under a key only the server holds;
// rootkey.Key implements it. kms seals grant tokens with it.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// PrincipalChecker tells whether an "AWS" principal a key policy names
// exists and, for a user or role, its unique ID now (iam.Store implements
// it).
type PrincipalChecker interface {
	PrincipalID(ctx context.Context, principal string) (uniqueID string, exists bool, err error)
}

// Config configures a Service.
type Config struct {
	Store    storage.Store
	Keystore keystore.Store
	// Sealer seals grant tokens (the root key).
	Sealer Sealer
	// Principals checks the principals of key policies; nil accepts every
	// well-formed principal (for tests of other things).
	Principals PrincipalChecker
	Clock      clock.Clock // nil: the system clock
	Logger     *slog.Logger
	// MaxKeysPerRegion is the customer managed key quota per account and
	// Region (AWS's default: 100,000).
	MaxKeysPerRegion int
	// Services tells which services are registered, for the AWS managed
	// keys DescribeKey makes; nil: only a service's own requests make them.
	Services ServiceRegistry
	// NoLastUse records no last use (GetKeyLastUsage then reports none):
	// the baseline benchmarks measure the tracking against.
	NoLastUse bool
	// Limiter enforces the request quotas (quota.go); nil: none.
	Limiter Limiter
}

// Service implements the KMS operations.
type Service struct {
	store    storage.Store
	ks       keystore.Store
	sealer   Sealer
	princ    PrincipalChecker
	services ServiceRegistry
	clock    clock.Clock
	log      *slog.Logger
	maxKeys  int
	randRead func([]byte) (int, error)
	policies policy.Cache // parsed key policies, by text
	// maxGrants is the grants-per-key quota (maxGrantsPerKey; tests lower it).
	maxGrants int
	usage     usageTracker // last uses not yet flushed (lastuse.go)
	noLastUse bool
	limiter   Limiter // nil: no request quotas
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Keystore == nil || cfg.Sealer == nil {
		return nil, errors.New("kms: Store, Keystore and Sealer are required")
	}
	s := &Service{store: cfg.Store, ks: cfg.Keystore, sealer: cfg.Sealer, princ: cfg.Principals, services: cfg.Services, clock: cfg.Clock, log: cfg.Logger, maxKeys: cfg.MaxKeysPerRegion, randRead: rand.Read}
	if s.clock == nil {
		s.clock = clock.System{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxKeys <= 0 {
		s.maxKeys = 100000
	}
	s.maxGrants = maxGrantsPerKey
	s.noLastUse = cfg.NoLastUse
	s.limiter = cfg.Limiter
	return s, nil
}

// Key states.
const (
	stateEnabled         = "Enabled"
	stateDisabled        = "Disabled"
	statePendingDeletion = "PendingDeletion"
	statePendingImport   = "PendingImport"
)

// keyRecord is a KMS key as stored.
type keyRecord struct {
	KeyID        string     `json:"id"`
	Account      string     `json:"acct"`
	Region       string     `json:"region"`
	ARN          string     `json:"arn"`
	Created      time.Time  `json:"created"`
	Description  string     `json:"desc"`
	KeySpec      string     `json:"spec"`
	KeyUsage     string     `json:"usage"`
	Origin       string     `json:"origin"`
	State        string     `json:"state"`
	DeletionDate *time.Time `json:"deletion,omitempty"`
	PendingDays  int        `json:"pendingDays,omitempty"`
	Policy       string     `json:"policy"`
	// PolicyIDs binds the users and roles the policy names to their unique
	// IDs when it was set (policy.Request.BoundPrincipals).
	PolicyIDs map[string]string `json:"policyIDs,omitempty"`
	Tags      []Tag             `json:"tags,omitempty"` // sorted by TagKey
	Materials []material        `json:"materials"`
	// Current is the index in Materials of the material new ciphertexts use.
	Current int `json:"current"`
	// Manager is "AWS" for an AWS managed key, "" for a customer managed
	// one.
	Manager string `json:"manager,omitempty"`
	// RotationDays and NextRotation schedule automatic rotation (the
	// rot/ index holds NextRotation); zero and nil without it.
	RotationDays int        `json:"rotDays,omitempty"`
	NextRotation *time.Time `json:"nextRot,omitempty"`
}

// material is one version of a key's material, sealed by the key store.
type material struct {
	ID      string    `json:"id"` // 64 hex: AWS's KeyMaterialId
	Sealed  []byte    `json:"sealed"`
	Created time.Time `json:"created"`
	// Rotation is how the material came: "AUTOMATIC" or "ON_DEMAND" for
	// a rotation, "" for the key's first material.
	Rotation string `json:"rotation,omitempty"`
	// Rotated is when that rotation happened (zero in records written
	// before it was kept: Created is the same time for generated
	// material).
	Rotated time.Time `json:"rotated,omitzero"`
	// Pending marks imported material that awaits RotateKeyOnDemand
	// (KeyMaterialState PENDING_ROTATION): not yet permanently associated
	// with the key.
	Pending bool `json:"pending,omitempty"`
	// Imported material (Origin EXTERNAL, imports.go): Sealed is nil while
	// it is deleted or expired; the ID stays, so that the same material
	// (and only it) can be imported again.
	ExpirationModel string     `json:"expModel,omitempty"`
	ValidTo         *time.Time `json:"validTo,omitempty"`
	Description     string     `json:"matDesc,omitempty"`
}

// awsManaged reports whether k is an AWS managed key.
func (k *keyRecord) awsManaged() bool { return k.Manager == keyManagerAWS }

func (k *keyRecord) metadata() *KeyMetadata {
	algs := keyAlgorithms(k.KeySpec, k.KeyUsage)
	m := &KeyMetadata{
		AWSAccountId:            k.Account,
		Arn:                     k.ARN,
		CreationDate:            ts(k.Created),
		CustomerMasterKeySpec:   customerMasterKeySpec(k.KeySpec),
		EncapsulationAlgorithms: algs.Encapsulation,
		EncryptionAlgorithms:    algs.Encryption,
		KeyAgreementAlgorithms:  algs.KeyAgreement,
		MacAlgorithms:           algs.Mac,
		SigningAlgorithms:       algs.Signing,
		Description:             k.Description,
		Enabled:                 k.State == stateEnabled,
		KeyId:                   k.KeyID,
		KeyManager:              keyManagerCustomer,
		KeySpec:                 k.KeySpec,
		KeyState:                k.State,
		KeyUsage:                k.KeyUsage,
		Origin:                  k.Origin,
	}
	if k.awsManaged() {
		m.KeyManager = keyManagerAWS
	}
	if k.KeySpec == "SYMMETRIC_DEFAULT" {
		if len(k.Materials) > 0 {
			m.CurrentKeyMaterialId = k.Materials[k.Current].ID
		}
	}
	if k.Origin == originExternal && len(k.Materials) > 0 {
		if cur := k.Materials[k.Current]; cur.Sealed != nil {
			m.ExpirationModel = cur.ExpirationModel
			if cur.ValidTo != nil {
				m.ValidTo = ts(*cur.ValidTo)
			}
		}
	}
	if k.State == statePendingDeletion && k.DeletionDate != nil {
		m.DeletionDate = ts(*k.DeletionDate)
		d := k.PendingDays
		m.PendingDeletionWindowInDays = &d
	}
	return m
}

// Storage layout. Every record of an account and Region lives under
// "<kind>/<account>/<region>/", so listing is a prefix scan whose cost grows
// with the page only.
func keyKey(acct, region, id string) []byte { return []byte("k/" + acct + "/" + region + "/" + id) }
func keyPrefix(acct, region string) []byte  { return []byte("k/" + acct + "/" + region + "/") }
func aliasKey(acct, region, name string) []byte {
	return []byte("a/" + acct + "/" + region + "/" + name)
}
func aliasPrefix(acct, region string) []byte { return []byte("a/" + acct + "/" + region + "/") }

// aliasIndexKey indexes aliases by target key, for ListAliases with KeyId
// and the per-key alias quota.
func aliasIndexKey(acct, region, keyID, name string) []byte {
	return []byte("ak/" + acct + "/" + region + "/" + keyID + "/" + name)
}
func aliasIndexPrefix(acct, region, keyID string) []byte {
	return []byte("ak/" + acct + "/" + region + "/" + keyID + "/")
}

// keyCountKey holds the number of keys of an account and Region, for the
// key quota.
func keyCountKey(acct, region string) []byte { return []byte("n/" + acct + "/" + region + "/keys") }

// deletionKey indexes keys pending deletion by deletion time, so the
// deletion sweeper reads only the keys that are due.
func deletionKey(when time.Time, acct, region, id string) []byte {
	return []byte(fmt.Sprintf("d/%020d/%s/%s/%s", when.UnixNano(), acct, region, id))
}

const deletionPrefix = "d/"

func getJSON(tx storage.Tx, key []byte, v any) error {
	b, err := tx.Get(key)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %q: %w", key, err)
	}
	return nil
}

func putJSON(tx storage.Tx, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %q: %w", key, err)
	}
	return tx.Put(key, b)
}

func (s *Service) newKeyID() (string, error) {
	var b [16]byte
	if _, err := s.randRead(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], nil
}

// Identifier forms a KeyId member accepts.
type idForms int

const (
	keyOnly       idForms = iota // key id or key ARN (management operations)
	keyOrAliasIDs                // also alias name and alias ARN (crypto operations, DescribeKey)
)

// resolvedID is where a KeyId points: the key's account, Region and id.
type resolvedID struct {
	account, region, keyID string
}

// resolve turns a KeyId member into the key it names, reading aliases in tx.
func (s *Service) resolve(tx storage.Tx, c *Caller, id string, forms idForms) (resolvedID, error) {
	switch {
	case strings.HasPrefix(id, "arn:"):
		a, err := arn.Parse(id)
		if err != nil {
			return resolvedID{}, awserr.New(awserr.InvalidArn, "Invalid arn %s", id)
		}
		if a.Partition != c.Partition {
			return resolvedID{}, awserr.New(awserr.NotFound, "Invalid arn %s: the key is not in partition %s", id, c.Partition)
		}
		if a.Region != c.Region {
			return resolvedID{}, awserr.New(awserr.NotFound, "Invalid arn %s: the key is not in Region %s", id, c.Region)
		}
		if a.Kind == arn.KindAlias {
			if forms != keyOrAliasIDs {
				return resolvedID{}, awserr.New(awserr.NotFound, "Invalid keyId %s", id)
			}
			return s.resolveAlias(tx, c.Partition, a.Account, a.Region, a.AliasName())
		}
		return resolvedID{a.Account, a.Region, a.Name}, nil
	case strings.HasPrefix(id, "alias/"):
		if forms != keyOrAliasIDs {
			return resolvedID{}, awserr.New(awserr.NotFound, "Invalid keyId %s", id)
		}
		return s.resolveAlias(tx, c.Partition, c.AccountID, c.Region, id)
	case arn.IsKeyID(id):
		return resolvedID{c.AccountID, c.Region, id}, nil
	}
	return resolvedID{}, awserr.New(awserr.NotFound, "Invalid keyId %s", id)
}

func (s *Service) resolveAlias(tx storage.Tx, partition, acct, region, name string) (resolvedID, error) {
	var a aliasRecord
	if err := getJSON(tx, aliasKey(acct, region, name), &a); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return resolvedID{}, awserr.New(awserr.NotFound, "Alias %s is not found.", arn.Alias(partition, region, acct, name))
		}
		return resolvedID{}, awserr.Internal(err)
	}
	return resolvedID{acct, region, a.TargetKeyID}, nil
}

// loadKey reads the key a KeyId names and checks that the caller may do a
// with it. A key whose deletion date has passed is gone even before the
// sweeper erases it.
func (s *Service) loadKey(tx storage.Tx, c *Caller, id string, forms idForms, a *access) (*keyRecord, error) {
	r, err := s.resolve(tx, c, id, forms)
	if err != nil {
		if qerr := s.countKeyUse(c, nil, a); qerr != nil {
			return nil, qerr
		}
		return nil, markMissingManaged(err, c, id, a)
	}
	if a != nil {
		a.requestAlias = requestAlias(id)
	}
	return s.loadResolved(tx, c, r, a)
}

// requestAlias is kms:RequestAlias for a KeyId: the alias name it uses, if
// it is an alias name or alias ARN.
func requestAlias(id string) string {
	if strings.HasPrefix(id, "alias/") {
		return id
	}
	if i := strings.Index(id, ":alias/"); i >= 0 && strings.HasPrefix(id, "arn:") {
		return id[i+1:]
	}
	return ""
}

func (s *Service) loadResolved(tx storage.Tx, c *Caller, r resolvedID, a *access) (*keyRecord, error) {
	var k keyRecord
	if err := getJSON(tx, keyKey(r.account, r.region, r.keyID), &k); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			if qerr := s.countKeyUse(c, nil, a); qerr != nil {
				return nil, qerr
			}
			return nil, notFoundKey(arn.Key(c.Partition, r.region, r.account, r.keyID))
		}
		return nil, awserr.Internal(err)
	}
	if s.deleted(&k) {
		if qerr := s.countKeyUse(c, nil, a); qerr != nil {
			return nil, qerr
		}
		return nil, notFoundKey(k.ARN)
	}
	c.noteKey(k.ARN)
	if err := s.countKeyUse(c, &k, a); err != nil {
		return nil, err
	}
	s.expireMaterial(&k)
	if a != nil { // nil: the operation was authorized without the key (ListAliases)
		if err := s.authorize(tx, c, &k, a); err != nil {
			return nil, err
		}
	}
	return &k, nil
}

func notFoundKey(keyARN string) error {
	return awserr.New(awserr.NotFound, "Key '%s' does not exist", keyARN)
}

func (s *Service) deleted(k *keyRecord) bool {
	return k.State == statePendingDeletion && k.DeletionDate != nil && !s.clock.Now().Before(*k.DeletionDate)
}

// Key-state errors, worded as AWS words them. They carry the state, so
// that metrics count the uses of a key its state refuses.
func errDisabled(k *keyRecord) error {
	return &awserr.Error{Code: awserr.Disabled, Message: k.ARN + " is disabled.", KeyState: k.State}
}

func errInvalidState(k *keyRecord) error {
	e := awserr.New(awserr.KMSInvalidState, "%s is %s.", k.ARN, strings.ToLower(k.State))
	switch k.State {
	case statePendingDeletion:
		e.Message = k.ARN + " is pending deletion."
	case statePendingImport:
		e.Message = k.ARN + " is pending import."
	}
	e.KeyState = k.State
	return e
}

// usable checks that a key may be used for a cryptographic operation.
func usable(k *keyRecord) error {
	switch k.State {
	case stateEnabled:
		return nil
	case stateDisabled:
		return errDisabled(k)
	}
	return errInvalidState(k)
}

// notPendingDeletion is the rule of the management operations that a key
// pending deletion refuses.
func notPendingDeletion(k *keyRecord) error {
	if k.State == statePendingDeletion {
		return errInvalidState(k)
	}
	return nil
}

func (s *Service) view(ctx context.Context, fn func(storage.Tx) error) error {
	return wrapStorage(s.store.View(ctx, fn))
}

func (s *Service) update(ctx context.Context, fn func(storage.Tx) error) error {
	return wrapStorage(s.store.Update(ctx, fn))
}

// wrapStorage passes AWS exceptions through and turns anything else into a
// KMSInternalException whose cause goes to the log.
func wrapStorage(err error) error {
	if err == nil {
		return nil
	}
	var e *awserr.Error
	if errors.As(err, &e) {
		return e
	}
	return awserr.Internal(err)
}

func dryRun() error {
	return &awserr.Error{Code: awserr.DryRunOperation, Message: "The request would have succeeded, but the DryRun option is set."}
}

func present(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}
