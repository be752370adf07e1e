// Package relay is the scan-to-send SMTP relay: a submission listener for
// the practice's multifunction printers (MFDs), which can only speak SMTP.
//
// A device signs in (AUTH PLAIN or LOGIN, after STARTTLS) with its own
// name and password, kept only as argon2id hashes (Devices). It names a
// recipient that must be in the organisation's directory or pinned
// (Resolver; short aliases such as mainst@relay map to such entries) and
// sends one message whose attachments are the scanned documents. The relay
// takes the documents out of the message into a private folder, checks
// each with internal/doccheck, hashes them, and hands them to a Submitter,
// which queues them, signed and encrypted, in the encrypted outbox. The
// relay answers 250 only once Submit has returned: "sent" on the device's
// screen means the job is durable and nothing can be lost.
//
// Promises: connections from outside the allow-list are refused before the
// greeting; AUTH and mail without TLS are refused (530) except from the
// addresses an admin listed as plain-text devices, each such message
// audited; a refusal is a clear SMTP reply that a device can show (550
// 5.1.1 unknown recipient, 552 5.3.4 too big, 554 5.6.0 no document or a
// damaged one, 451 when the outbox cannot take the job now); sizes,
// concurrent connections and messages per minute per device are limited;
// every accepted message is audited (device, source address, recipients,
// document hashes). Text in a message (subject, file names) is made safe
// before it is passed on or shown.
//
// It refuses: anything that is not a document (the message body text is
// not sent on), and it leaves policy, protection and delivery to the
// Submitter (the desk's Send journey).
package relay
