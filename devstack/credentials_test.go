package devstack

import (
	"os"
	"reflect"
	"testing"
)

// TestEphemeralCredentialsComplete: an ephemeral stack generates every credential, including
// the both-scopes key, and writes no file.
func TestEphemeralCredentialsComplete(t *testing.T) {
	dir := t.TempDir()
	c, err := loadCredentials(Config{Ephemeral: true, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	v := reflect.ValueOf(c)
	for i := 0; i < v.NumField(); i++ {
		if v.Field(i).String() == "" {
			t.Errorf("credential %s is empty", v.Type().Field(i).Name)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("an ephemeral stack wrote %d files", len(entries))
	}
}
