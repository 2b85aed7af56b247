package display

import (
	"html"
	"strconv"
	"strings"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"
)

// floatDigits is the number of significant digits a float cell shows.
const floatDigits = 4

// Table shows df as an HTML table (see TableHTML).
func Table(df dataframe.DataFrame) {
	if front != nil {
		front.HTML(TableHTML(df))
	}
}

// TableHTML returns df as an HTML table: one header row with the column
// names, then one row per record. Floats show 4 significant digits
// (see FormatFloat), missing values show as NaN,
// numbers are right-aligned, and every name and string is HTML-escaped. A
// DataFrame holding an error (df.Err) gives a <pre> block with the error.
func TableHTML(df dataframe.DataFrame) string {
	var b strings.Builder
	if df.Err != nil {
		b.WriteString(`<pre class="anogo-error">display: table: `)
		b.WriteString(html.EscapeString(df.Err.Error()))
		b.WriteString("</pre>\n")
		return b.String()
	}
	names := df.Names()
	types := df.Types()
	b.WriteString("<table class=\"anogo-table\">\n<thead><tr>")
	for _, n := range names {
		b.WriteString("<th>")
		b.WriteString(html.EscapeString(n))
		b.WriteString("</th>")
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	for r := range df.Nrow() {
		b.WriteString("<tr>")
		for c, t := range types {
			if t == series.Float || t == series.Int {
				b.WriteString(`<td style="text-align:right">`)
			} else {
				b.WriteString("<td>")
			}
			b.WriteString(html.EscapeString(cell(df.Elem(r, c))))
			b.WriteString("</td>")
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n</table>\n")
	return b.String()
}

// cell formats one table element.
func cell(e series.Element) string {
	if e.IsNA() {
		return "NaN"
	}
	if e.Type() == series.Float {
		return FormatFloat(e.Float())
	}
	return e.String()
}

// FormatFloat formats v with 4 significant digits, as tables and progress
// bars show numbers: 0.91234 as "0.9123", 1234.56 as "1235", 12345.6 as
// "1.235e+04", 0.5 as "0.5", and NaN and infinities as "NaN", "+Inf" and
// "-Inf".
func FormatFloat(v float64) string {
	return strconv.FormatFloat(v, 'g', floatDigits, 64)
}
