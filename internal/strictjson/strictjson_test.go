package strictjson

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error // nil: accepted
	}{
		{"object", `{"a":1,"b_2":[{"c":"x"},null,true],"d":{}}`, nil},
		{"escaped key equal to a plain one is still one key", `{"size":1}`, nil},
		{"empty", ``, ErrSyntax},
		{"array", `[1,2]`, ErrNotObject},
		{"string", `"x"`, ErrNotObject},
		{"unterminated", `{"a":1`, ErrSyntax},
		{"missing colon", `{"a" 1}`, ErrSyntax},
		{"trailing object", `{"a":1}{"a":2}`, ErrTrailing},
		{"trailing garbage", `{"a":1} x`, ErrTrailing},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", ErrUTF8},
		{"duplicate", `{"a":1,"a":2}`, ErrDuplicate},
		{"duplicate after unescaping", `{"size":1,"\u0073ize":2}`, ErrDuplicate},
		{"duplicate nested", `{"a":[{"b":1,"b":1}]}`, ErrDuplicate},
		{"same key in two objects", `{"a":{"b":1},"c":{"b":1}}`, nil},
		{"upper case", `{"NHI":1}`, ErrKeyForm},
		{"differing in case", `{"patient_nhi":"a","PATIENT_NHI":"b"}`, ErrKeyForm},
		{"Kelvin sign escaped", `{"kind":"a","\u212aind":"b"}`, ErrKeyForm},
		{"Kelvin sign", "{\"kind\":\"a\",\"\u212aind\":\"b\"}", ErrKeyForm},
		{"long s", "{\"size\":1,\"\u017fize\":2}", ErrKeyForm},
		{"empty key", `{"":1}`, ErrKeyForm},
		{"hyphen", `{"a-b":1}`, ErrKeyForm},
		{"nested key upper case", `{"a":[{"B":1}]}`, ErrKeyForm},
		{"four deep", `{"a":[{"b":[]}]}`, nil},
		{"five deep", `{"a":[{"b":[[]]}]}`, ErrDepth},
		{"five deep objects", `{"a":{"b":{"c":{"d":{}}}}}`, ErrDepth},
		{"very deep", `{"a":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`, ErrDepth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Check([]byte(tt.in), 4); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Check = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	type inner struct {
		N int `json:"n"`
	}
	type target struct {
		A string  `json:"a"`
		I []inner `json:"i"`
	}
	var v target
	if err := Decode([]byte(`{"a":"x","i":[{"n":3}]}`), &v); err != nil || v.A != "x" || v.I[0].N != 3 {
		t.Fatalf("Decode = %v, %+v", err, v)
	}
	if err := Decode([]byte(`{"a":"x","secret_key":1}`), &v); !errors.Is(err, ErrUnknownKey) || strings.Contains(err.Error(), "secret") {
		t.Errorf("unknown key: %v", err)
	}
	var te *TypeError
	if err := Decode([]byte(`{"i":[{"n":"3"}]}`), &v); !errors.As(err, &te) || te.Field != "i.n" {
		t.Errorf("wrong type: %v", err)
	}
	if err := Decode([]byte(`{"a":"x"} {}`), &v); !errors.Is(err, ErrTrailing) {
		t.Errorf("trailing: %v", err)
	}
}
