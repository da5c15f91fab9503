/**
 * The page parts in `templates/`, imported as text so the compiled binary and
 * the bundle carry them (nothing reads the source tree at run time).
 */
import layout from "../../templates/report.html" with { type: "text" };
import styles from "../../templates/styles.css" with { type: "text" };
import section from "../../templates/sections/section.html" with { type: "text" };
import keyNumbers from "../../templates/sections/key_numbers.html" with { type: "text" };
import card from "../../templates/sections/card.html" with { type: "text" };
import chart from "../../templates/sections/chart.html" with { type: "text" };
import finding from "../../templates/sections/finding.html" with { type: "text" };

export const TEMPLATES = { layout, styles, section, keyNumbers, card, chart, finding };
