package report

import (
	"bytes"
	"embed"
	htmltemplate "html/template"
	"io"
	"strings"
	texttemplate "text/template"
	"unicode"
	"unicode/utf8"
)

//go:embed templates/report.html.tmpl templates/report.md.tmpl
var templateFS embed.FS

// Report file names under a run's output folder.
const (
	HTMLFile = "report.html"
	MDFile   = "report.md"
)

var (
	htmlTmpl = htmltemplate.Must(htmltemplate.New("report.html.tmpl").Funcs(htmltemplate.FuncMap{
		"runBegin": func() htmltemplate.HTML { return htmltemplate.HTML(RunMetadataBegin) },
		"runEnd":   func() htmltemplate.HTML { return htmltemplate.HTML(RunMetadataEnd) },
	}).ParseFS(templateFS, "templates/report.html.tmpl"))

	mdTmpl = texttemplate.Must(texttemplate.New("report.md.tmpl").Funcs(texttemplate.FuncMap{
		"md":   mdEscape,
		"code": mdCode,
		"bar":  mdBar,
		"pseudo": func(s string) string {
			if strings.HasPrefix(s, PseudonymPrefix) {
				return mdCode(s)
			}
			return mdEscape(s)
		},
		"runBegin": func() string { return RunMetadataBegin },
		"runEnd":   func() string { return RunMetadataEnd },
	}).ParseFS(templateFS, "templates/report.md.tmpl"))
)

// RenderHTML writes report.html: one self-contained page (no scripts, no
// external fonts, styles or images; charts are inline SVG) that prints
// cleanly to PDF.
func RenderHTML(w io.Writer, d Data) error {
	return htmlTmpl.Execute(w, buildView(d))
}

// RenderMarkdown writes report.md: the same content as report.html in
// Markdown, the charts given as tables.
func RenderMarkdown(w io.Writer, d Data) error {
	var b bytes.Buffer
	if err := mdTmpl.Execute(&b, buildView(d)); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// mdEscape makes a text safe in Markdown prose and table cells: it escapes
// the characters that would start markup or split a cell, and folds line
// breaks. An underscore inside a word (created_at) is left alone, as
// Markdown does not read it as emphasis.
func mdEscape(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch r {
		case '\\', '|', '*', '`', '[', ']', '<', '>', '#':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '_':
			prev, _ := utf8.DecodeLastRuneInString(s[:i])
			next, _ := utf8.DecodeRuneInString(s[i+1:])
			if i == 0 || i == len(s)-1 || !isWord(prev) || !isWord(next) {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		case '\n', '\r':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isWord(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// mdCode renders s as a code span that survives in a table cell.
func mdCode(s string) string {
	s = strings.NewReplacer("\n", " ", "\r", " ", "|", "\\|").Replace(s)
	if s == "" {
		return ""
	}
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// mdBar draws n out of max as a bar of up to 20 blocks, for readers of
// the Markdown report who would rather look than read.
func mdBar(n, max int64) string {
	if n <= 0 || max <= 0 {
		return ""
	}
	k := int((n*20 + max - 1) / max)
	return strings.Repeat("█", k)
}
