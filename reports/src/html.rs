//! HTML building blocks: escaping, the page shell with inline CSS, tables.

use std::fmt::Write as _;

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Inline stylesheet: the page makes no external request.
const CSS: &str = r#"
:root { --fg:#1d2330; --muted:#5b6475; --line:#dde1e8; --bg:#ffffff; --soft:#f5f7fa;
        --ok:#1a7f37; --okbg:#dafbe1; --bad:#b42318; --badbg:#ffebe9; --warn:#9a6700; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
       color: var(--fg); background: var(--bg); }
main { max-width: 1320px; margin: 0 auto; padding: 20px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 30px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
p.desc { color: var(--muted); margin: 0 0 12px; }
dl.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: 6px 18px;
           margin: 12px 0; padding: 12px 16px; background: var(--soft); border-radius: 8px; }
dl.facts div { min-width: 0; }
dl.facts dt { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
dl.facts dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
code, pre { font-family: "DejaVu Sans Mono", ui-monospace, Menlo, Consolas, monospace; font-size: 13px; }
code.cmd { display: inline-block; background: #0f172a; color: #e2e8f0; padding: 4px 10px; border-radius: 6px; }
table { border-collapse: collapse; margin: 6px 0 10px; font-size: 14px; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
div.scroll { overflow-x: auto; max-width: 100%; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:hover { background: #fafbfd; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 700; }
.pass { color: var(--ok); background: var(--okbg); }
.fail { color: var(--bad); background: var(--badbg); }
.better { color: var(--ok); font-weight: 600; }
.worse { color: var(--bad); font-weight: 600; }
.same, .neutral { color: var(--muted); }
.note { color: var(--muted); font-size: 13px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 18px; }
figure { margin: 0; padding: 8px; border: 1px solid var(--line); border-radius: 8px; background: #fff; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { font-size: 13px; color: var(--muted); padding: 4px 6px 0; }
figure.nodata { display: flex; align-items: center; justify-content: center; min-height: 120px;
                color: var(--muted); background: var(--soft); }
pre.config { background: var(--soft); padding: 12px 14px; border-radius: 8px; overflow-x: auto;
             max-height: 640px; }
footer { margin-top: 36px; color: var(--muted); font-size: 13px; }
"#;

/// A page under construction.
pub struct Page {
    body: String,
}

impl Page {
    /// Starts an empty page body.
    pub fn new() -> Self {
        Page {
            body: String::with_capacity(1 << 16),
        }
    }

    /// Appends raw (already safe) HTML.
    pub fn raw(&mut self, html: &str) -> &mut Self {
        self.body.push_str(html);
        self
    }

    /// Appends `<tag>escaped text</tag>`.
    pub fn text(&mut self, tag: &str, text: &str) -> &mut Self {
        let _ = write!(self.body, "<{tag}>{}</{tag}>", escape(text));
        self
    }

    /// Appends a section heading with an anchor (`report.html#plots`).
    pub fn heading(&mut self, id: &str, text: &str) -> &mut Self {
        let _ = write!(self.body, "<h2 id=\"{}\">{}</h2>", escape(id), escape(text));
        self
    }

    /// Appends a definition grid of `(label, value)` facts.
    pub fn facts(&mut self, facts: &[(&str, String)]) -> &mut Self {
        self.body.push_str("<dl class=\"facts\">");
        for (k, v) in facts {
            let _ = write!(
                self.body,
                "<div><dt>{}</dt><dd>{}</dd></div>",
                escape(k),
                escape(v)
            );
        }
        self.body.push_str("</dl>");
        self
    }

    /// Appends a table; cells are raw HTML (callers escape text with [`escape`]).
    pub fn table(&mut self, table: &Table) -> &mut Self {
        self.body.push_str("<div class=\"scroll\"><table><thead><tr>");
        for (h, num) in table.header.iter().zip(&table.numeric) {
            let class = if *num { " class=\"num\"" } else { "" };
            let _ = write!(self.body, "<th{class}>{}</th>", escape(h));
        }
        self.body.push_str("</tr></thead><tbody>");
        for row in &table.rows {
            self.body.push_str("<tr>");
            for (cell, num) in row.iter().zip(&table.numeric) {
                let class = if *num { " class=\"num\"" } else { "" };
                let _ = write!(self.body, "<td{class}>{cell}</td>");
            }
            self.body.push_str("</tr>");
        }
        self.body.push_str("</tbody></table></div>");
        self
    }

    /// Wraps the body in the document shell.
    pub fn finish(&self, title: &str) -> String {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n{}\n</main>\n</body>\n</html>\n",
            escape(title),
            self.body
        )
    }
}

/// A table: headers, which columns are numeric (right-aligned), rows of raw HTML cells.
pub struct Table {
    /// Column headers (plain text).
    pub header: Vec<String>,
    /// Right-align flags, one per column.
    pub numeric: Vec<bool>,
    /// Rows of raw HTML cells.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with `header`; columns named in `numeric_from..` are numeric.
    pub fn new(header: &[&str], numeric_from: usize) -> Self {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            numeric: (0..header.len()).map(|i| i >= numeric_from).collect(),
            rows: Vec::new(),
        }
    }
}

/// A PASS/FAIL badge.
pub fn badge(passed: bool) -> &'static str {
    if passed {
        "<span class=\"badge pass\">PASS</span>"
    } else {
        "<span class=\"badge fail\">FAIL</span>"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn table_and_shell() {
        let mut t = Table::new(&["name", "n"], 1);
        t.rows.push(vec![escape("a<b"), "3".into()]);
        let mut p = Page::new();
        p.text("h1", "T & U").table(&t);
        let html = p.finish("t<");
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<title>t&lt;</title>"));
        assert!(html.contains("<h1>T &amp; U</h1>"));
        assert!(html.contains("<td>a&lt;b</td><td class=\"num\">3</td>"));
        assert!(html.contains("<div class=\"scroll\"><table>"));
    }
}
