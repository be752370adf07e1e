package desk

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/hotfolder"
)

// DocumentTypes are the document types a sender picks, each the
// message's Subject: the app's Send tab, the hot folder's --doc-type and
// the relay's (a scanner's subject) offer the same.
var DocumentTypes = []string{"Prescription", "Referral", "Results", "Other"}

// OtherDocuments is the document type of anything else; its signed
// manifest carries the manifest's default type.
const OtherDocuments = "Other"

// DocumentType returns the document type that name names (any case,
// surrounding spaces ignored) as spelt in DocumentTypes, and the signed
// manifest's type for it: its lower-case form, "" for OtherDocuments (the
// manifest's default). ok is false when name is none of DocumentTypes.
func DocumentType(name string) (subject, manifestType string, ok bool) {
	for _, t := range DocumentTypes {
		if strings.EqualFold(strings.TrimSpace(name), t) {
			if t == OtherDocuments {
				return t, "", true
			}
			return t, strings.ToLower(t), true
		}
	}
	return "", "", false
}

// OverPolicyLimitError refuses a hot folder size limit above the
// policy's document limit: such files could only be refused when sent.
type OverPolicyLimitError struct {
	GivenMB, PolicyMB int64
}

func (e *OverPolicyLimitError) Error() string {
	return fmt.Sprintf("a limit of %d MB is over your organisation's document limit of %d MB", e.GivenMB, e.PolicyMB)
}

// HotFolderMaxSize is the hot folder's file size limit in bytes: flagMB
// (in MB; 0 when not given), else the policy's document limit, else
// hotfolder.DefaultMaxSize. A limit above the policy's is refused with an
// *OverPolicyLimitError.
func (d *Desk) HotFolderMaxSize(flagMB int64) (int64, error) {
	pol, err := d.side().policy(profile.UserSettings{})
	if err != nil {
		return 0, err
	}
	return hotFolderMaxSize(pol.MaxAttachmentBytes(), flagMB)
}

func hotFolderMaxSize(policyMax, flagMB int64) (int64, error) {
	switch {
	case flagMB > 0 && policyMax > 0 && flagMB<<20 > policyMax:
		return 0, &OverPolicyLimitError{GivenMB: flagMB, PolicyMB: policyMax >> 20}
	case flagMB > 0:
		return flagMB << 20, nil
	case policyMax > 0:
		return policyMax, nil
	}
	return hotfolder.DefaultMaxSize, nil
}

// HotFolderMessageID is the Message-ID of the hot folder's file with the
// idempotency key key, sent from the address from: the same after a crash,
// so that the file's job can be found again (Outbox.FindMessage).
func HotFolderMessageID(key, from string) string {
	return "hotfolder." + key + "@" + from[strings.LastIndexByte(from, '@')+1:]
}

// HotFolderHandler is the hot folder's queueing (a hotfolder.Handler):
// each file is sent as dr says, one message per file, through Send (the
// policy gate, the protection, the outbox job), with the Message-ID of
// HotFolderMessageID, so that a file queued before a crash is found rather
// than queued twice. A refused message (*Refused) is a permanent failure:
// the hot folder moves the file to failed/ with the reason.
func (o *Outbox) HotFolderHandler(dr Draft) hotfolder.Handler {
	return func(ctx context.Context, it hotfolder.Item) (string, error) {
		m := *dr.Message // a copy for each file
		m.To = append(m.To[:0:0], dr.Message.To...)
		m.Cc = append(m.Cc[:0:0], dr.Message.Cc...)
		m.Documents = []send.Document{{Path: it.Path, Name: it.Name}}
		if m.From.Address == "" {
			a, err := o.d.routeAccount(dr.Via, "")
			if err != nil {
				return "", err
			}
			if a != nil {
				m.From.Address = a.Email
			}
		}
		m.MessageID = HotFolderMessageID(it.Key, m.From.Address)
		id, err := o.FindMessage(m.MessageID)
		if err != nil || id != "" {
			return id, err
		}
		one := dr
		one.Message = &m
		id, err = o.Send(ctx, one)
		var refused *Refused
		if errors.As(err, &refused) {
			return "", hotfolder.Permanent(err)
		}
		return id, err
	}
}
