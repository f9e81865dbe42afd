// cosigcheck checks the notary's witness cosignatures (C2SP tlog-cosignature, cosignature/v1)
// with Go's golang.org/x/mod/sumdb/note, and makes cosignatures for the notary to check.
//
// The note package does the framing, key names and key IDs as Go's checksum database does;
// this program adds only what cosignature/v1 defines on top: the 0x04 key ID, and a signature
// that is an 8-byte big-endian time followed by Ed25519 over "cosignature/v1\ntime T\n" and
// the note text. It reads one JSON object on stdin and prints one JSON object.
package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

type input struct {
	// check: open Note with the verifier keys (vkeys of type 0x04) and list who cosigned.
	Note         string   `json:"note"`
	CosignerKeys []string `json:"cosigner_keys"`
	// sign: cosign Text as Name with the 32-byte Ed25519 seed (base64) at Time.
	Text string `json:"text"`
	Name string `json:"name"`
	Seed string `json:"seed"`
	Time uint64 `json:"time"`
}

const algCosignatureV1 = 0x04

func keyHash(name string, key []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte("\n"))
	h.Write(append([]byte{algCosignatureV1}, key...))
	return binary.BigEndian.Uint32(h.Sum(nil))
}

func message(text string, t uint64) []byte {
	return []byte("cosignature/v1\ntime " + strconv.FormatUint(t, 10) + "\n" + text)
}

type verifier struct {
	name string
	hash uint32
	key  ed25519.PublicKey
	// what each good signature said: the time
	times map[string]uint64
}

func (v *verifier) Name() string    { return v.name }
func (v *verifier) KeyHash() uint32 { return v.hash }
func (v *verifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig[:8])
	if t > 1<<63-1 {
		return false
	}
	if !ed25519.Verify(v.key, message(string(msg), t), sig[8:]) {
		return false
	}
	v.times[v.name] = t
	return true
}

func newVerifier(vkey string, times map[string]uint64) (*verifier, error) {
	name, rest, ok := strings.Cut(vkey, "+")
	if !ok {
		return nil, errors.New("malformed key")
	}
	hash16, key64, ok := strings.Cut(rest, "+")
	if !ok {
		return nil, errors.New("malformed key")
	}
	hash, err1 := strconv.ParseUint(hash16, 16, 32)
	key, err2 := base64.StdEncoding.DecodeString(key64)
	if len(hash16) != 8 || err1 != nil || err2 != nil || len(key) != 33 || key[0] != algCosignatureV1 {
		return nil, errors.New("not a cosignature/v1 key")
	}
	if uint32(hash) != keyHash(name, key[1:]) {
		return nil, errors.New("key hash mismatch")
	}
	return &verifier{name: name, hash: uint32(hash), key: ed25519.PublicKey(key[1:]), times: times}, nil
}

type signer struct {
	name string
	key  ed25519.PrivateKey
	time uint64
}

func (s *signer) Name() string { return s.name }
func (s *signer) KeyHash() uint32 {
	return keyHash(s.name, s.key.Public().(ed25519.PublicKey))
}
func (s *signer) Sign(msg []byte) ([]byte, error) {
	out := make([]byte, 8, 8+ed25519.SignatureSize)
	binary.BigEndian.PutUint64(out, s.time)
	return append(out, ed25519.Sign(s.key, message(string(msg), s.time))...), nil
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	result := map[string]any{}
	if in.Seed != "" {
		seed, err := base64.StdEncoding.DecodeString(in.Seed)
		if err != nil || len(seed) != ed25519.SeedSize {
			fmt.Fprintln(os.Stderr, "bad seed")
			os.Exit(2)
		}
		s := &signer{name: in.Name, key: ed25519.NewKeyFromSeed(seed), time: in.Time}
		signed, err := note.Sign(&note.Note{Text: in.Text}, s)
		if err != nil {
			result["error"] = err.Error()
		} else {
			result["note"] = string(signed)
		}
	} else {
		times := map[string]uint64{}
		var list []note.Verifier
		for _, k := range in.CosignerKeys {
			v, err := newVerifier(k, times)
			if err != nil {
				result["error"] = err.Error()
				json.NewEncoder(os.Stdout).Encode(result)
				return
			}
			list = append(list, v)
		}
		n, err := note.Open([]byte(in.Note), note.VerifierList(list...))
		if err != nil {
			result["error"] = err.Error()
		} else {
			names := []string{}
			for _, sig := range n.Sigs {
				names = append(names, sig.Name)
			}
			result["cosigned_by"] = names
			result["times"] = times
			result["text"] = n.Text
		}
	}
	json.NewEncoder(os.Stdout).Encode(result)
}
