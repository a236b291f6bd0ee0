package scenario

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// Plot geometry, in SVG user units.
const (
	plotWidth   = 900
	panelHeight = 220
	marginLeft  = 70
	marginRight = 160
	marginTop   = 40
	panelGap    = 50
	ticks       = 5
)

type series struct {
	name  string
	color string
	value func(Sample) int
}

// WriteSVG draws the timeline: queue depth above; desired replicas, running
// pods and nodes below, on a shared time axis.
func WriteSVG(w io.Writer, title string, samples []Sample) error {
	height := marginTop + 2*panelHeight + panelGap + 40
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", plotWidth, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="15">%s</text>`+"\n", marginLeft, escape(title))
	end := 1.0
	if len(samples) > 0 {
		end = math.Max(end, samples[len(samples)-1].Seconds)
	}
	panel(&b, samples, end, marginTop, "messages", []series{
		{"queue depth", "#1f77b4", func(s Sample) int { return s.Depth }},
	})
	panel(&b, samples, end, marginTop+panelHeight+panelGap, "count", []series{
		{"desired replicas", "#ff7f0e", func(s Sample) int { return s.Desired }},
		{"running pods", "#2ca02c", func(s Sample) int { return s.Running }},
		{"nodes (Karpenter)", "#d62728", func(s Sample) int { return s.Nodes }},
	})
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">seconds since the first message</text>`+"\n",
		marginLeft+(plotWidth-marginLeft-marginRight)/2, height-8)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func panel(b *strings.Builder, samples []Sample, end float64, top int, unit string, lines []series) {
	width := plotWidth - marginLeft - marginRight
	peak := 1
	for _, s := range samples {
		for _, l := range lines {
			peak = max(peak, l.value(s))
		}
	}
	yMax := niceCeil(peak)
	x := func(t float64) float64 { return marginLeft + t/end*float64(width) }
	y := func(v int) float64 { return float64(top+panelHeight) - float64(v)/float64(yMax)*panelHeight }

	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>`+"\n", marginLeft, top, width, panelHeight)
	for i := 0; i <= ticks; i++ {
		v := yMax * i / ticks
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/><text x="%d" y="%.1f" text-anchor="end">%d</text>`+"\n",
			marginLeft, marginLeft+width, y(v), y(v), marginLeft-6, y(v)+4, v)
		t := end * float64(i) / ticks
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%.0f</text>`+"\n", x(t), top+panelHeight+16, t)
	}
	fmt.Fprintf(b, `<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">%s</text>`+"\n", top+panelHeight/2, top+panelHeight/2, unit)
	for i, l := range lines {
		var pts []string
		for _, s := range samples {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(s.Seconds), y(l.value(s))))
		}
		fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", l.color, strings.Join(pts, " "))
		ly := top + 14 + 18*i
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="3"/><text x="%d" y="%d">%s</text>`+"\n",
			marginLeft+width+10, marginLeft+width+28, ly-4, ly-4, l.color, marginLeft+width+34, ly, escape(l.name))
	}
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten, and to a multiple
// of the tick count so tick labels are whole numbers.
func niceCeil(v int) int {
	p := 1
	for p*10 <= v {
		p *= 10
	}
	for _, m := range []int{1, 2, 5, 10} {
		if m*p >= v {
			n := m * p
			return (n + ticks - 1) / ticks * ticks
		}
	}
	return v
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
