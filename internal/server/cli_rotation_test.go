package server_test

import (
	"testing"

	"github.com/kagikms/kagi/internal/server/servertest"
)

// TestRotationWithAWSCLI: enable-key-rotation, get-key-rotation-status,
// rotate-key-on-demand, list-key-rotations and disable-key-rotation as
// botocore builds and parses them.
func TestRotationWithAWSCLI(t *testing.T) {
	bin := cliPath(t)
	t.Parallel()
	env := servertest.Start(t)
	cli := newAWSCLI(t, bin, env)
	root := cliCreds{servertest.AccessKeyID, env.Secret, ""}
	md := cli.ok(root, "kms", "create-key")
	keyID := cliField(md, "KeyMetadata", "KeyId")
	first := cliField(md, "KeyMetadata", "CurrentKeyMaterialId")

	if out := cli.ok(root, "kms", "enable-key-rotation", "--key-id", keyID, "--rotation-period-in-days", "180"); out != nil && len(out) != 0 {
		t.Errorf("enable-key-rotation printed %v", out)
	}
	st := cli.ok(root, "kms", "get-key-rotation-status", "--key-id", keyID)
	if st["KeyRotationEnabled"] != true || st["RotationPeriodInDays"] != float64(180) || st["NextRotationDate"] == nil {
		t.Errorf("get-key-rotation-status: %v", st)
	}
	// (botocore refuses a period under 90 days itself; the SDK tests send
	// one.)

	if out := cli.ok(root, "kms", "rotate-key-on-demand", "--key-id", keyID); cliField(out, "KeyId") == "" {
		t.Errorf("rotate-key-on-demand: %v", out)
	}
	list := cli.ok(root, "kms", "list-key-rotations", "--key-id", keyID, "--include-key-material", "ALL_KEY_MATERIAL")
	rots, _ := list["Rotations"].([]any)
	if len(rots) != 2 {
		t.Fatalf("list-key-rotations: %v", list)
	}
	r0, _ := rots[0].(map[string]any)
	r1, _ := rots[1].(map[string]any)
	if cliField(r0, "KeyMaterialId") != first || cliField(r0, "KeyMaterialState") != "NON_CURRENT" ||
		cliField(r1, "RotationType") != "ON_DEMAND" || cliField(r1, "KeyMaterialState") != "CURRENT" || r1["RotationDate"] == nil {
		t.Errorf("list-key-rotations entries: %v", rots)
	}
	if now := cliField(cli.ok(root, "kms", "describe-key", "--key-id", keyID), "KeyMetadata", "CurrentKeyMaterialId"); now != cliField(r1, "KeyMaterialId") {
		t.Errorf("describe-key CurrentKeyMaterialId %s, list says %s", now, cliField(r1, "KeyMaterialId"))
	}

	cli.ok(root, "kms", "disable-key-rotation", "--key-id", keyID)
	if st := cli.ok(root, "kms", "get-key-rotation-status", "--key-id", keyID); st["KeyRotationEnabled"] != false {
		t.Errorf("get-key-rotation-status after disable-key-rotation: %v", st)
	}
	asym := cliField(cli.ok(root, "kms", "create-key", "--key-spec", "ECC_NIST_P256", "--key-usage", "SIGN_VERIFY"), "KeyMetadata", "Arn")
	cli.fails(root, "UnsupportedOperationException", "", "kms", "rotate-key-on-demand", "--key-id", asym)
}
