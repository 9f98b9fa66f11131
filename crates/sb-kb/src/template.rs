//! Reply templates with `{{variable}}` placeholders (`{{customer.first_name}}`,
//! `{{order.number}}`, `{{order.tracking_url}}`, `{{article.url}}`, ...), for suggested replies
//! and canned responses.
//!
//! A variable with no value is never rendered empty: it stays in the text as its placeholder
//! and is listed in [`RenderedTemplate::missing`], so the console can highlight it and the
//! automatic-reply path can refuse to send. An empty value counts as missing too, because "Hi ,"
//! is exactly what the rule is there to prevent.
//!
//! Syntax: `{{ name }}` with a name of letters, digits, `_` and `.` (spaces inside the braces
//! are allowed). Anything else between `{{` and `}}`, and a `{{` with no `}}`, is text.

/// The result of rendering a template.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RenderedTemplate {
    /// The text with every known variable filled in and missing ones left as `{{name}}`.
    pub text: String,
    /// Variables without a (non-blank) value, each once, in order of first appearance.
    pub missing: Vec<String>,
}

impl RenderedTemplate {
    /// True when nothing is missing: the text may be sent as is.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Renders `template`, asking `value_of` for each variable name.
pub fn render(template: &str, value_of: impl Fn(&str) -> Option<String>) -> RenderedTemplate {
    let mut text = String::with_capacity(template.len());
    let mut missing: Vec<String> = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        text.push_str(&rest[..open]);
        let after_open = &rest[open + 2..];
        let Some(close) = after_open.find("}}") else {
            text.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let name = after_open[..close].trim();
        if !is_variable_name(name) {
            // Not a placeholder: keep the opening braces and continue after them, so that a
            // real placeholder inside (`{{ {{a}}`) is still found.
            text.push_str("{{");
            rest = after_open;
            continue;
        }
        match value_of(name).filter(|value| !value.trim().is_empty()) {
            Some(value) => text.push_str(&value),
            None => {
                text.push_str(&format!("{{{{{name}}}}}"));
                if !missing.iter().any(|seen| seen == name) {
                    missing.push(name.to_string());
                }
            }
        }
        rest = &after_open[close + 2..];
    }
    text.push_str(rest);
    RenderedTemplate { text, missing }
}

/// The variable names a template uses, each once, in order (for validating templates when an
/// admin saves them).
pub fn variables(template: &str) -> Vec<String> {
    render(template, |_| None).missing
}

fn is_variable_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.ends_with('.') && name.chars().all(|character| character.is_alphanumeric() || character == '_' || character == '.')
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};

    use super::*;

    fn check(template: &str, expect: Expect) {
        let values = [("customer.first_name", "Ana"), ("order.number", "A10493"), ("order.tracking_url", "https://track.example/1Z999"), ("blank", "  ")];
        let rendered = render(template, |name| values.iter().find(|(key, _)| *key == name).map(|(_, value)| value.to_string()));
        expect.assert_eq(&format!("{}\nmissing: {:?}", rendered.text, rendered.missing));
    }

    #[test]
    fn fills_known_and_reports_missing() {
        check(
            "Hi {{customer.first_name}}, order {{ order.number }} is on its way: {{order.tracking_url}}",
            expect![[r#"
                Hi Ana, order A10493 is on its way: https://track.example/1Z999
                missing: []"#]],
        );
        check(
            "Hi {{customer.first_name}}, see {{article.url}} and {{article.url}}; {{blank}}!",
            expect![[r#"
                Hi Ana, see {{article.url}} and {{article.url}}; {{blank}}!
                missing: ["article.url", "blank"]"#]],
        );
    }

    #[test]
    fn text_that_is_not_a_placeholder_stays() {
        check(
            "{{ not a var }} {{ {{order.number}} {{.x}} {{unclosed",
            expect![[r#"
                {{ not a var }} {{ A10493 {{.x}} {{unclosed
                missing: []"#]],
        );
        check("no placeholders, {single} braces", expect![[r#"
            no placeholders, {single} braces
            missing: []"#]]);
    }

    #[test]
    fn lists_variables() {
        assert_eq!(variables("{{a.b}} {{c}} {{a.b}}"), vec!["a.b", "c"]);
        assert!(render("Hi {{x}}", |_| Some("y".into())).is_complete());
    }
}
