package main

import (
	"bytes"
	"fmt"
	"strings"
)

// prescriptionPages is the text of the sample prescription, one slice per
// page. Lines are drawn top to bottom in Helvetica.
var prescriptionPages = [][]string{
	{
		"SAMPLE \u2014 NOT A REAL PRESCRIPTION",
		"",
		"Kowhai Street Medical Centre (test practice)",
		"12 Example Road, Testville 9999, New Zealand",
		"",
		"Patient: TEST PATIENT, Sample",
		"NHI: ZZZ0016 (test number)",
		"Date of birth: 01/01/1970",
		"",
		"Rx",
		"  1. Paracetamol 500 mg tablets",
		"     Take 1-2 tablets every 4-6 hours when required.",
		"     Maximum 8 tablets in 24 hours. Supply: 20 tablets.",
		"",
		"Prescriber: Dr A. Sample (test prescriber, HPI-CPN 99ZZZZ)",
		"",
		"This document was generated for software testing only.",
		"It must not be dispensed. Page 1 of 2.",
	},
	{
		"SAMPLE \u2014 NOT A REAL PRESCRIPTION",
		"",
		"Notes for the pharmacist (test content)",
		"  No known allergies recorded for this test patient.",
		"  Repeat: none.",
		"",
		"Signature: ______________________ (sample)",
		"",
		"Page 2 of 2.",
	},
}

// winAnsi encodes s for a PDF string in WinAnsiEncoding, escaping the
// characters that are special inside a literal string.
func winAnsi(s string) (string, error) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\u2014':
			b.WriteByte(0x97)
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		default:
			return "", fmt.Errorf("character %q not supported in the sample PDF", r)
		}
	}
	return b.String(), nil
}

// prescriptionPDF returns a small, valid PDF 1.4 document (A4 pages, text
// only, no timestamps) built by hand so that it is reproducible.
func prescriptionPDF() ([]byte, error) {
	var objs []string // objs[i] is object number i+1
	add := func(body string) int {
		objs = append(objs, body)
		return len(objs)
	}
	catalog := add("") // filled in below
	pagesObj := add("")
	font := add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	bold := add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
	info := add("<< /Title (Sample prescription - not real) /Producer (securesend assets/samples/gen) >>")

	var kids []string
	for _, lines := range prescriptionPages {
		var cs bytes.Buffer
		// A light grey diagonal watermark, then the text.
		cs.WriteString("q 0.85 g BT /F2 54 Tf 0.7071 0.7071 -0.7071 0.7071 130 250 Tm (SAMPLE ONLY) Tj ET Q\n")
		y := 790
		for i, line := range lines {
			enc, err := winAnsi(line)
			if err != nil {
				return nil, err
			}
			f, size := "/F1", 12
			if i == 0 {
				f, size = "/F2", 16
			}
			if line != "" {
				fmt.Fprintf(&cs, "BT %s %d Tf 60 %d Td (%s) Tj ET\n", f, size, y, enc)
			}
			y -= 22
		}
		content := add(fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", cs.Len(), cs.String()))
		page := add(fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] "+
			"/Resources << /Font << /F1 %d 0 R /F2 %d 0 R >> >> /Contents %d 0 R >>",
			pagesObj, font, bold, content))
		kids = append(kids, fmt.Sprintf("%d 0 R", page))
	}
	objs[catalog-1] = fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", pagesObj)
	objs[pagesObj-1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(kids))

	var out bytes.Buffer
	out.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, body := range objs {
		offsets[i] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", i+1, body)
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n",
		len(objs)+1, catalog, info, xref)
	return out.Bytes(), nil
}
