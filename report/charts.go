package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Charts are inline SVG built here, not by a script: they render without
// JavaScript, print, and carry a <title> and <desc> for screen readers. Every
// chart is followed in the report by a table with the same numbers.
//
// Every text that goes into the SVG is escaped with esc; the numbers are
// formatted by this package.

const (
	chartWidth = 760
	labelWidth = 210 // left column of horizontal charts
	barArea    = 400
	rowHeight  = 26
)

func esc(s string) string { return template.HTMLEscapeString(s) }

// svgOpen starts an accessible SVG. desc should say what a sighted reader
// sees, with the numbers.
func svgOpen(b *strings.Builder, id, title, desc string, height int) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" id="%s" class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="%s-title %s-desc" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', Arial, sans-serif" font-size="12">`,
		esc(id), chartWidth, height, chartWidth, height, esc(id), esc(id))
	fmt.Fprintf(b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, esc(id), esc(title), esc(id), esc(desc))
}

// scale maps v in [0, max] to [0, width], keeping non-zero values visible.
func scale(v, max int64, width float64) float64 {
	if max <= 0 || v <= 0 {
		return 0
	}
	w := float64(v) / float64(max) * width
	if w < 1 {
		w = 1
	}
	return math.Round(w*10) / 10
}

func f1(x float64) string { return fmt.Sprintf("%.1f", x) }

// categoryChart draws flagged rows per category as horizontal bars.
func categoryChart(rows []catRow, judged int64) template.HTML {
	var max int64
	var parts []string
	for _, r := range rows {
		if r.N > max {
			max = r.N
		}
		parts = append(parts, fmt.Sprintf("%s: %s rows (%s)", r.Label, r.Rows, r.Rate))
	}
	h := 20 + len(rows)*rowHeight + 10
	var b strings.Builder
	svgOpen(&b, "chart-category-svg", "Findings by category",
		fmt.Sprintf("Horizontal bar chart of rows flagged per category, out of %s rows judged. %s.", fmtInt(judged), strings.Join(parts, "; ")), h)
	for i, r := range rows {
		y := 20 + i*rowHeight
		w := scale(r.N, max, barArea)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" dominant-baseline="middle" fill="#222">%s</text>`, labelWidth-8, y+9, esc(r.Label))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%s" height="18" fill="%s" data-category="%s" data-rows="%d"><title>%s: %s rows, %s of rows judged</title></rect>`,
			labelWidth, y, f1(w), r.Color, esc(string(r.Category)), r.N, esc(r.Label), r.Rows, r.Rate)
		fmt.Fprintf(&b, `<text x="%s" y="%d" dominant-baseline="middle" fill="#222">%s (%s)</text>`, f1(float64(labelWidth)+w+6), y+9, r.Rows, esc(r.Rate))
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="14" x2="%d" y2="%d" stroke="#555" stroke-width="1"/>`, labelWidth, labelWidth, h-6)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// legend draws the category legend at y.
func legend(b *strings.Builder, x, y int) {
	for _, cat := range reportCategories {
		info := categoryInfos[cat]
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d" dominant-baseline="middle" fill="#222">%s</text>`,
			x, y, info.Color, x+16, y+6, esc(info.Label))
		x += 30 + 7*len(info.Label)
	}
}

func rowTotal(r groupRow) int64 {
	var t int64
	for _, c := range r.Cells {
		t += c.N
	}
	return t
}

// segmentTitle describes one segment for hover and screen readers.
func segmentTitle(label string, c cell) string {
	return fmt.Sprintf("%s, %s: %s rows (%s of rows judged)", label, categoryInfos[c.Category].Label, c.Rows, c.Rate)
}

func describeRows(rows []groupRow) string {
	var parts []string
	for _, r := range rows {
		parts = append(parts, fmt.Sprintf("%s: %s", chartLabel(r), fmtInt(rowTotal(r))))
	}
	if len(parts) == 0 {
		return "No rows were flagged."
	}
	return "Totals: " + strings.Join(parts, "; ") + "."
}

func chartLabel(r groupRow) string {
	if strings.HasPrefix(r.Label, "unknown") {
		return "unknown"
	}
	return r.Label
}

// stackedBars draws one horizontal bar per row, stacked by category.
func stackedBars(id, title, desc string, rows []groupRow) template.HTML {
	var max int64
	for _, r := range rows {
		max = maxInt(max, rowTotal(r))
	}
	top := 36
	h := top + max1(len(rows))*rowHeight + 10
	var b strings.Builder
	svgOpen(&b, id, title, desc+" "+describeRows(rows), h)
	legend(&b, 10, 8)
	if len(rows) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#222">No rows were flagged.</text>`, labelWidth, top+12)
	}
	for i, r := range rows {
		y := top + i*rowHeight
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" dominant-baseline="middle" fill="#222">%s</text>`, labelWidth-8, y+9, esc(chartLabel(r)))
		x := float64(labelWidth)
		for _, c := range r.Cells {
			if c.N == 0 {
				continue
			}
			w := scale(c.N, max, barArea)
			fmt.Fprintf(&b, `<rect x="%s" y="%d" width="%s" height="18" fill="%s" data-category="%s" data-rows="%d"><title>%s</title></rect>`,
				f1(x), y, f1(w), categoryInfos[c.Category].Color, esc(string(c.Category)), c.N, esc(segmentTitle(chartLabel(r), c)))
			x += w
		}
		fmt.Fprintf(&b, `<text x="%s" y="%d" dominant-baseline="middle" fill="#222">%s</text>`, f1(x+6), y+9, fmtInt(rowTotal(r)))
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555" stroke-width="1"/>`, labelWidth, top-4, labelWidth, h-6)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// stackedColumns draws one column per row (months), stacked by category,
// with a y axis.
func stackedColumns(id, title, desc string, rows []groupRow) template.HTML {
	var max int64
	for _, r := range rows {
		max = maxInt(max, rowTotal(r))
	}
	top, left, plotH, plotW := 40, 70, 220, chartWidth-70-20
	h := top + plotH + 50
	var b strings.Builder
	svgOpen(&b, id, title, desc+" "+describeRows(rows), h)
	legend(&b, 10, 8)
	axisMax := niceCeil(max)
	// Axis and grid.
	for i := 0; i <= 4; i++ {
		v := axisMax * int64(i) / 4
		y := float64(top+plotH) - scale(v, axisMax, float64(plotH))
		fmt.Fprintf(&b, `<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#ddd" stroke-width="1"/>`, left, f1(y), left+plotW, f1(y))
		fmt.Fprintf(&b, `<text x="%d" y="%s" text-anchor="end" dominant-baseline="middle" fill="#444">%s</text>`, left-6, f1(y), fmtInt(v))
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555" stroke-width="1"/>`, left, top+plotH, left+plotW, top+plotH)
	if len(rows) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#222">No rows were flagged.</text>`, left+10, top+plotH/2)
	}
	n := len(rows)
	if n > 0 {
		slot := float64(plotW) / float64(n)
		colW := math.Min(40, slot*0.8)
		every := int(math.Ceil(60 / slot)) // at least 60 px between labels
		for i, r := range rows {
			x := float64(left) + slot*float64(i) + (slot-colW)/2
			y := float64(top + plotH)
			for _, c := range r.Cells {
				if c.N == 0 {
					continue
				}
				hh := scale(c.N, axisMax, float64(plotH))
				y -= hh
				fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s" data-category="%s" data-rows="%d"><title>%s</title></rect>`,
					f1(x), f1(y), f1(colW), f1(hh), categoryInfos[c.Category].Color, esc(string(c.Category)), c.N, esc(segmentTitle(chartLabel(r), c)))
			}
			if i%every == 0 || i == n-1 && every == 1 {
				fmt.Fprintf(&b, `<text x="%s" y="%d" text-anchor="middle" fill="#444">%s</text>`, f1(x+colW/2), top+plotH+16, esc(chartLabel(r)))
			}
		}
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="#444">month of created_at (UTC)</text>`, left+plotW/2, top+plotH+40)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceCeil returns the top of an axis for values up to v: four equal
// steps of 1, 2 or 5 times a power of ten.
func niceCeil(v int64) int64 {
	if v <= 4 {
		return 4
	}
	raw := (v + 3) / 4
	p := int64(1)
	for p*10 <= raw {
		p *= 10
	}
	for _, m := range []int64{1, 2, 5, 10} {
		if m*p >= raw {
			return 4 * m * p
		}
	}
	return 40 * p
}

func maxInt(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}
