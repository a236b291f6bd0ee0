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
	// maxTicks bounds the labelled ticks on an axis.
	maxTicks = 5
)

type series struct {
	name  string
	color string
	value func(Sample) int
}

// WriteSVG draws the timeline: queue depth above; desired replicas, running
// pods and nodes below, on a shared time axis, with what ran after the
// drain shaded and counted.
func WriteSVG(w io.Writer, title string, samples []Sample, s Summary) error {
	height := marginTop + 2*panelHeight + panelGap + 40
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", plotWidth, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="15">%s</text>`+"\n", marginLeft, escape(title))
	end := 1.0
	if len(samples) > 0 {
		end = math.Max(end, samples[len(samples)-1].Seconds)
	}
	xStep := niceStep(end)
	end = math.Ceil(end/xStep) * xStep
	panel(&b, samples, end, xStep, marginTop, "messages", []series{
		{"queue depth", "#1f77b4", func(s Sample) int { return s.Depth }},
	})
	if s.Drained >= 0 {
		lower := marginTop + panelHeight + panelGap
		width := float64(plotWidth - marginLeft - marginRight)
		from := marginLeft + s.Drained/end*width
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#f0f0f0"/>`+"\n", from, lower, marginLeft+width-from, panelHeight)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11">after the drain: %.0f node-s (%.0f %%), US$%.4f (%.0f %%), %.0f pod-s (%.0f %%)</text>`+"\n",
			from+4, lower+14, s.AfterDrain.NodeSeconds, share(s.AfterDrain.NodeSeconds, s.Cost.NodeSeconds),
			s.AfterDrain.NodeDollars, share(s.AfterDrain.NodeDollars, s.Cost.NodeDollars),
			s.AfterDrain.PodSeconds, share(s.AfterDrain.PodSeconds, s.Cost.PodSeconds))
	}
	panel(&b, samples, end, xStep, marginTop+panelHeight+panelGap, "count", []series{
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

func panel(b *strings.Builder, samples []Sample, end, xStep float64, top int, unit string, lines []series) {
	width := plotWidth - marginLeft - marginRight
	peak := 1
	for _, s := range samples {
		for _, l := range lines {
			peak = max(peak, l.value(s))
		}
	}
	yStep := niceStep(float64(peak))
	yMax := math.Ceil(float64(peak)/yStep) * yStep
	x := func(t float64) float64 { return marginLeft + t/end*float64(width) }
	y := func(v float64) float64 { return float64(top+panelHeight) - v/yMax*panelHeight }

	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>`+"\n", marginLeft, top, width, panelHeight)
	for v := 0.0; v <= yMax; v += yStep {
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/><text x="%d" y="%.1f" text-anchor="end">%.0f</text>`+"\n",
			marginLeft, marginLeft+width, y(v), y(v), marginLeft-6, y(v)+4, v)
	}
	for t := 0.0; t <= end; t += xStep {
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%.0f</text>`+"\n", x(t), top+panelHeight+16, t)
	}
	fmt.Fprintf(b, `<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">%s</text>`+"\n", top+panelHeight/2, top+panelHeight/2, unit)
	for i, l := range lines {
		var pts []string
		for _, s := range samples {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(s.Seconds), y(float64(l.value(s)))))
		}
		fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", l.color, strings.Join(pts, " "))
		ly := top + 14 + 18*i
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="3"/><text x="%d" y="%d">%s</text>`+"\n",
			marginLeft+width+10, marginLeft+width+28, ly-4, ly-4, l.color, marginLeft+width+34, ly, escape(l.name))
	}
}

// niceStep is the smallest whole step of 1, 2 or 5 times a power of ten
// that covers span in at most maxTicks steps.
func niceStep(span float64) float64 {
	for p := 1.0; ; p *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if span/(m*p) <= maxTicks {
				return m * p
			}
		}
	}
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
