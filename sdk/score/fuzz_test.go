package score

import (
	"bytes"
	"testing"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"
)

// FuzzReadTable feeds arbitrary bytes through the path of anogo eval
// (gota's CSV reader, then ReadTable): it must return results or an error,
// never panic. Seeds: a good table, a missing column, a bad label, a
// duplicate column, a BOM and semicolons.
func FuzzReadTable(f *testing.F) {
	for _, s := range []string{
		"id,label,A,Ahat,PD\na,0,1,1,1\nb,1,2,2,2\n",
		"id,label,A,PD\na,0,1,1\n",
		"id,label,A\na,7,1\n",
		"id,label,A,A\na,0,1,1\n",
		"\ufeffid,label,A\na,0,1\n",
		"id;label;A\na;0;1\n",
		"id,label\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		df := dataframe.ReadCSV(bytes.NewReader(b), dataframe.WithTypes(map[string]series.Type{"id": series.String}))
		if df.Err != nil {
			return
		}
		res, err := ReadTable(df)
		if err != nil {
			return
		}
		for _, r := range res {
			if r.Label < -1 || r.Label > 1 {
				t.Fatalf("label %d accepted", r.Label)
			}
		}
	})
}
