// tlogcheck checks the notary's checkpoints and proofs with Go's own golang.org/x/mod/sumdb
// packages (note, tlog): the code behind the Go checksum database, written by others.
//
// It reads one JSON object on stdin and prints one JSON object: which checks passed, and the
// error of each that did not.
package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type input struct {
	VerifierKey   string   `json:"verifier_key"`
	Checkpoint    string   `json:"checkpoint"`
	Record        string   `json:"record_base64"`
	LeafIndex     int64    `json:"leaf_index"`
	Inclusion     []string `json:"inclusion"`
	OldCheckpoint string   `json:"old_checkpoint"`
	Consistency   []string `json:"consistency"`
}

type tree struct {
	origin string
	size   int64
	root   tlog.Hash
}

func open(verifier note.Verifier, text string) (tree, error) {
	n, err := note.Open([]byte(text), note.VerifierList(verifier))
	if err != nil {
		return tree{}, err
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		return tree{}, fmt.Errorf("short checkpoint")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return tree{}, err
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		return tree{}, fmt.Errorf("bad root")
	}
	var root tlog.Hash
	copy(root[:], raw)
	return tree{lines[0], size, root}, nil
}

func hashes(list []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(list))
	for i, text := range list {
		raw, err := hex.DecodeString(text)
		if err != nil || len(raw) != tlog.HashSize {
			return nil, fmt.Errorf("bad hash %d", i)
		}
		copy(out[i][:], raw)
	}
	return out, nil
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	result := map[string]string{}
	record := func(name string, err error) {
		if err != nil {
			result[name] = err.Error()
		} else {
			result[name] = "ok"
		}
	}
	verifier, err := note.NewVerifier(in.VerifierKey)
	record("verifier_key", err)
	if err == nil {
		current, err := open(verifier, in.Checkpoint)
		record("checkpoint", err)
		if err == nil && in.Record != "" {
			data, err := base64.StdEncoding.DecodeString(in.Record)
			proof, perr := hashes(in.Inclusion)
			if err == nil {
				err = perr
			}
			if err == nil {
				err = tlog.CheckRecord(tlog.RecordProof(proof), current.size, current.root, in.LeafIndex, tlog.RecordHash(data))
			}
			record("inclusion", err)
		}
		if err == nil && in.OldCheckpoint != "" {
			old, err := open(verifier, in.OldCheckpoint)
			proof, perr := hashes(in.Consistency)
			if err == nil {
				err = perr
			}
			if err == nil {
				err = tlog.CheckTree(tlog.TreeProof(proof), current.size, current.root, old.size, old.root)
			}
			record("consistency", err)
		}
	}
	json.NewEncoder(os.Stdout).Encode(result)
}
