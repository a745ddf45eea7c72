/** Types for parse-prometheus-text-format 1.1 (it ships none): prom2json-compatible families. */
declare module 'parse-prometheus-text-format' {
  export interface ParsedSample {
    value: string
    labels?: Record<string, string>
    timestamp_ms?: string
  }
  export interface ParsedFamily {
    name: string
    help: string
    type: 'GAUGE' | 'COUNTER' | 'SUMMARY' | 'HISTOGRAM' | 'UNTYPED'
    metrics: ParsedSample[]
  }
  export default function parsePrometheusTextFormat(text: string): ParsedFamily[]
}
