"""One-line readings of the profile's figures, generated from the numbers, never canned.

Every chart and table of the profile carries one sentence saying what it shows. The
sentence is built from the figures each time (direction words are chosen by comparing
numbers), so a new run, period or area gives a new sentence and a reader never sees a
claim the figures do not support. Where a figure cannot be computed the sentence says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chi.analysis.board import BoardRow, BoardTable
    from chi.analysis.concentration import Concentration
    from chi.analysis.document import Profile
    from chi.analysis.escalation import Escalation
    from chi.analysis.repeats import Repeats

POPULATION_WORDS = {
    "victims": ("victims", "harm"),
    "da_victims": ("DA victims", "DA harm"),
    "dyads": ("DA dyads", "DA harm"),
    "perpetrators": ("DA perpetrators", "DA harm"),
    "ipv_perpetrators": ("intimate-partner perpetrators", "DA harm"),
}


MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def month_name(label: str) -> str:
    """``2024-12`` → ``December 2024``."""
    year, month = label.split("-")
    return f"{MONTHS[int(month) - 1]} {year}"


def period_words(first: str, last: str) -> str:
    """``2024-01``, ``2024-12`` → ``January to December 2024``."""
    if first == last:
        return month_name(first)
    if first[:4] == last[:4]:
        return f"{MONTHS[int(first[5:]) - 1]} to {month_name(last)}"
    return f"{month_name(first)} to {month_name(last)}"


def pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{100 * x:.{digits}f}%"


def num(x: float | None, digits: int = 0) -> str:
    return "n/a" if x is None else f"{x:,.{digits}f}"


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _words(population: str) -> tuple[str, str]:
    """Who a population is and what of theirs is measured, in words (its name if unknown)."""
    return POPULATION_WORDS.get(population, (population, "harm"))


def concentration_line(c: Concentration) -> str:
    who, what = _words(c.population)
    if c.gini is None:
        return f"No {what} was recorded against {who} in the period."
    share85 = c.holding.get("85")
    k = c.holding_units.get("85", 0)
    return (
        f"{pct(share85)} of {who} ({k:,} of {c.units:,}) hold 85% of {what}; "
        f"the top 1% hold {pct(c.top.get('1'))} (Gini {c.gini:.2f})."
    )


def lorenz_line(harm: Concentration, count: Concentration) -> str:
    who, what = _words(harm.population)
    if harm.gini is None or count.gini is None:
        return f"Not enough {what} among {who} to compare."
    if harm.gini > count.gini + 0.02:
        word = "more concentrated than"
    elif harm.gini < count.gini - 0.02:
        word = "less concentrated than"
    else:
        word = "about as concentrated as"
    return (
        f"Among {who}, harm is {word} the number of crimes: Gini {harm.gini:.2f} for harm "
        f"against {count.gini:.2f} for counts (generalised Gini for counts "
        f"{num(count.generalised_gini, 2) if count.generalised_gini is not None else 'n/a'})."
    )


def repeat_line(r: Repeats) -> str:
    who, what = _words(r.population)
    rate = r.rate
    if not rate.units:
        return f"No {who} in the period."
    return (
        f"{pct(rate.repeat_unit_share)} of {who} ({rate.repeat_units:,} of {rate.units:,}) "
        f"had two or more crimes in the period; repeats were {pct(rate.repeat_event_share)} "
        f"of their crimes and the repeat {who} held {pct(rate.repeat_harm_share)} of the "
        f"{what}."
    )


def survival_line(r: Repeats) -> str:
    who, _ = _words(r.population)
    km = r.survival
    if not km.units:
        return f"No {who} to follow up."
    s30 = km.at(30)
    s365 = km.at(365)
    first = (
        f"{pct(1 - s30)} of {who} had another DA crime within 30 days of their first in the period"
        if s30 is not None and r.population != "victims"
        else f"{pct(1 - s30)} of {who} were victimised again within 30 days"
        if s30 is not None
        else f"follow-up is shorter than 30 days for {who}"
    )
    if s365 is not None:
        tail = f", and {pct(1 - s365)} within a year (Kaplan–Meier, {km.units:,} followed up)."
    else:
        last = km.at(km.max_follow_up)
        tail = (
            f"; a year's follow-up is not yet available (longest {km.max_follow_up} days, "
            f"by which {pct(1 - last) if last is not None else 'n/a'} had repeated)."
        )
    return first[0].upper() + first[1:] + tail


def hazard_line(r: Repeats) -> str:
    who, _ = _words(r.population)
    early = next((h for h in r.hazard if h.lo == 0), None)
    late = next((h for h in r.hazard if h.lo == 180), None)
    if early is None or early.per_1000_days is None:
        return f"Too little follow-up to estimate the risk of a repeat for {who}."
    if late is not None and late.per_1000_days == 0:
        return (
            f"The risk of a repeat for {who} is {early.per_1000_days:.2f} per 1,000 days at "
            f"risk in the first 30 days after a crime; none was recorded 6-12 months after "
            f"one ({late.unit_days:,} days at risk)."
        )
    if late is None or late.per_1000_days is None:
        return (
            f"The risk of a repeat for {who} in the first 30 days is "
            f"{early.per_1000_days:.2f} per 1,000 days at risk; 6-12 months later it cannot "
            "yet be estimated."
        )
    ratio = early.per_1000_days / late.per_1000_days
    word = "higher" if ratio >= 1 else "lower"
    times = ratio if ratio >= 1 else 1 / ratio
    how_many = "more than 20 times" if times > 20 else f"{times:.1f} times"
    return (
        f"The risk of a repeat is {how_many} {word} in the first 30 days after a crime "
        f"than 6-12 months after it ({early.per_1000_days:.2f} against "
        f"{late.per_1000_days:.2f} per 1,000 days at risk)."
    )


def next_given_k_line(r: Repeats) -> str:
    who, _ = _words(r.population)
    steps = [s for s in r.next_given_k if s.probability is not None and s.units_k >= 10][:4]
    if len(steps) < 2:
        return f"Too few repeat {who} to estimate how the chance of a further crime grows."
    parts = ", ".join(f"after {s.k}: {pct(s.probability, 0)}" for s in steps)
    first, last = steps[0].probability or 0.0, steps[-1].probability or 0.0
    if last > first + 0.02:
        trend = "grows with every crime"
    elif last < first - 0.02:
        trend = "falls after the first repeats"
    else:
        trend = "stays about the same"
    return f"The chance that {who} suffer a further crime {trend} ({parts})."


def dyad_line(r: Repeats) -> str:
    s = r.no_repeat_12m
    if s is None:
        km = r.survival
        last = km.at(km.max_follow_up)
        return (
            f"{pct(last)} of DA dyads had no repeat within {km.max_follow_up} days of their "
            "first incident in the period (a 12-month follow-up is not yet available)."
            if last is not None
            else "No DA dyads to follow up."
        )
    return (
        f"{pct(s)} of DA dyads had no further incident within 12 months of their first in "
        f"the period (Kaplan–Meier, {r.survival.units:,} dyads)."
    )


def ipv_line(r: Repeats) -> str:
    s24, s12 = r.no_repeat_24m, r.no_repeat_12m
    n = r.survival.units
    if not n:
        return "No intimate-partner perpetrators in the period."
    if s24 is not None:
        return (
            f"{pct(s24)} of {n:,} intimate-partner perpetrators had no further DA crime "
            "within 24 months."
        )
    if s12 is not None:
        return (
            f"{pct(s12)} of {n:,} intimate-partner perpetrators had no further DA crime "
            "within 12 months (24 months of follow-up are not yet available)."
        )
    km = r.survival
    last = km.at(km.max_follow_up)
    return (
        f"{pct(last)} of {n:,} intimate-partner perpetrators had no further DA crime within "
        f"{km.max_follow_up} days (the longest follow-up available)."
    )


def serial_line(serial: dict[str, object]) -> str:
    n = int(str(serial.get("perpetrators") or 0))
    k = int(str(serial.get("serial") or 0))
    if not n:
        return "No DA perpetrators in the period."
    share = k / n
    return (
        f"{plural(k, 'DA perpetrator')} of {n:,} ({pct(share)}) had two or more DA victims "
        f"in the {serial.get('months')} months to the period's end (serial perpetrators)."
    )


def escalation_line(e: Escalation) -> str:
    if e.repeating_dyads == 0:
        return "No dyad had a repeat incident, so escalation cannot be measured."
    sev, freq = e.severity, e.frequency
    sev_text = {
        "rises": "severity rises",
        "falls": "severity falls",
        "no clear change": "severity shows no clear change",
    }[sev.verdict]
    freq_text = {
        "rises": "incidents come closer together",
        "falls": "incidents come further apart",
        "no clear change": "the gaps between incidents show no clear change",
    }[freq.verdict]
    p_sev = (
        "n/a"
        if sev.p_value is None
        else "< 0.001"
        if sev.p_value < 0.001
        else f"= {sev.p_value:.3f}"
    )
    return (
        f"Within {e.repeating_dyads:,} repeating dyads, {sev_text}: a next incident was more "
        f"harmful than the one before {sev.rises:,} times and less harmful {sev.falls:,} "
        f"times (sign test p {p_sev}); {freq_text} (gap shorter {freq.rises:,} times, "
        f"longer {freq.falls:,})."
    )


def trend_line(profile: Profile) -> str:
    t = profile.trend
    if t.is_empty():
        return "No months to show."
    last = t.row(t.height - 1, named=True)
    months = profile.meta["months"]
    total = int(t.tail(months)["crimes"].sum())
    n = int(last["crimes"])
    text = (
        f"{plural(n, 'DA crime')} {'was' if n == 1 else 'were'} recorded in "
        f"{month_name(last['month'])}"
    )
    if last["rolling_12"] is not None:
        avg = float(last["rolling_12"])
        word = "above" if last["crimes"] > avg else "below" if last["crimes"] < avg else "at"
        text += f", {word} the 12-month average of {avg:,.1f}"
    if t.height >= 2 * months:
        before = int(t.tail(2 * months).head(months)["crimes"].sum())
        if before:
            change = (total - before) / before
            word = "up" if change > 0 else "down" if change < 0 else "unchanged"
            text += (
                f"; the period's {total:,} is {word} {pct(abs(change))} on the "
                f"{months} months before"
                if word != "unchanged"
                else f"; the period's {total:,} equals the {months} months before"
            )
    return text + "."


def place_line(profile: Profile) -> str:
    d = profile.places["district"]
    if d.is_empty():
        return "No DA crimes with a known place."
    top = d.row(0, named=True)
    return (
        f"{top['place']} had the most DA harm ({pct(top['harm_share'])} of it, from "
        f"{pct(top['crimes_share'])} of DA crimes)."
    )


def relationship_line(profile: Profile) -> str:
    r = profile.relationship
    if r.is_empty():
        return "No DA crimes in the period."
    top = r.sort("crimes", descending=True).row(0, named=True)
    harm_top = r.sort("harm", descending=True).row(0, named=True)
    text = (
        f"{top['relationship']} abuse was the most common ({pct(top['crimes_share'])} of DA crimes)"
    )
    if harm_top["relationship"] != top["relationship"]:
        text += f", but {harm_top['relationship'].lower()} abuse caused the most harm "
        text += f"({pct(harm_top['harm_share'])})"
    else:
        text += f" and caused {pct(top['harm_share'])} of the harm"
    return text + "."


def age_sex_line(frame_rows: list[dict[str, object]], who: str) -> str:
    if not frame_rows:
        return f"No {who} in the period."
    total = sum(int(str(r["count"])) for r in frame_rows)
    by_sex: dict[str, int] = {}
    by_age: dict[str, int] = {}
    for r in frame_rows:
        by_sex[str(r["sex"])] = by_sex.get(str(r["sex"]), 0) + int(str(r["count"]))
        by_age[str(r["age_band"])] = by_age.get(str(r["age_band"]), 0) + int(str(r["count"]))
    female = by_sex.get("F", 0) / total
    male = by_sex.get("M", 0) / total
    known_ages = {k: v for k, v in by_age.items() if k != "unknown"}
    band = max(sorted(known_ages), key=lambda k: known_ages[k]) if known_ages else None
    main = f"{pct(female)} female and {pct(male)} male"
    age = f"; the largest age group is {band} ({pct(known_ages[band] / total)})" if band else ""
    return f"Of {who}, {main}{age}."


def dash_line(profile: Profile) -> str:
    rows = {str(r["grade"]): r for r in profile.dash.to_dicts()}
    if not rows:
        return "No DA victimisations in the period."

    def share(g: str) -> str:
        r = rows.get(g)
        return pct(float(str(r["count_share"]))) if r else "0.0%"

    return (
        f"{share('High')} of DA victimisations were graded high risk, {share('Medium')} "
        f"medium and {share('Standard')} standard; {share('Not recorded')} had no DASH grade."
    )


def overlap_line(profile: Profile) -> str:
    o = profile.overlap
    if not o["da_victims"] and not o["violence_victims"]:
        return "No DA victims or victims of violence in the period."
    if not o["da_victims"]:
        return (
            f"No DA victims in the period; {pct(o['violence_share'])} of the period's victims "
            "of violence have also been recorded as suspects."
        )
    return (
        f"{pct(o['da_share'])} of DA victims ({o['da_victims_also_suspects']:,} of "
        f"{o['da_victims']:,}) have also been recorded as suspects, as have "
        f"{pct(o['violence_share'])} of the period's victims of violence."
    )


def outcome_line(profile: Profile) -> str:
    rate = profile.outcome_rate
    if not rate.crimes:
        return "No DA crimes in the period."
    frame = profile.outcomes.filter(~profile.outcomes["group"].str.starts_with("Not yet"))
    top = frame.sort("count", descending=True).row(0, named=True) if not frame.is_empty() else None
    text = (
        f"{pct(rate.rate)} of DA crimes had a prosecution-possible outcome "
        f"({rate.prosecution_possible:,} of {rate.crimes:,}); {pct(rate.open_share)} are "
        "still open"
    )
    if top:
        text += (
            f"; the most common outcome is {str(top['group']).lower()} ({pct(top['count_share'])})"
        )
    return text + "."


def over_recording_line(profile: Profile) -> str:
    o = profile.over_recording
    what = (
        "stalking and harassment crimes"
        if o.groups and set(o.groups) == {"8L", "8M", "8Q", "8R"}
        else "crimes audited"
    )
    if not o.crimes_audited:
        return f"No {what} in the period to audit."
    text = (
        f"{o.flagged:,} of {o.crimes_audited:,} {what} ({pct(o.flagged_share)}) look like "
        f"duplicate recordings (same victim, suspect and offence group within "
        f"{o.within_days} days), adding {num(o.harm_added, 1)} days of harm"
    )
    if o.precision is not None or o.recall is not None:
        text += (
            f"; against the generator's truth file, precision {pct(o.precision, 0)} and "
            f"recall {pct(o.recall, 0)}"
        )
    return text + "."


def board_line(table: BoardTable) -> str:
    month = month_name(table.month)
    if not table.rows:
        return f"No rows for {month}."
    if all(r.versus_1y is None for r in table.rows):
        return (
            f"In {month}, no row can yet be compared with a 1-year monthly average (the "
            "extract needs the 12 months before it)."
        )

    def names(rows: list[BoardRow]) -> str:
        labels = [
            f"{r.label.lower()} ({r.this_month:,} against an average of {r.average_1y or 0:,.1f})"
            for r in rows
        ]
        return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]

    higher = [r for r in table.rows if r.versus_1y == "Higher"]
    lower = [r for r in table.rows if r.versus_1y == "Lower"]
    parts = []
    for rows, word in ((higher, "higher"), (lower, "lower")):
        if rows:
            verb = "was" if len(rows) == 1 else "were"
            parts.append(f"{names(rows)} {verb} {word} than the 1-year monthly average")
    if not parts:
        return f"In {month}, every row was comparable with its 1-year monthly average."
    rest = len(table.rows) - len(higher) - len(lower)
    tail = (
        f"; the other {'row was' if rest == 1 else f'{rest} rows were'} comparable" if rest else ""
    )
    return f"In {month}, " + "; ".join(parts) + tail + "."


def all_readings(profile: Profile) -> dict[str, str]:
    c, r, m = profile.concentration, profile.repeats, profile.meta
    when = period_words(str(m["period_start"])[:7], str(m["period_end"])[:7])
    crimes = int(m["da_crimes"])
    headline = (
        f"In {when} ({m['scope']}), {plural(crimes, 'domestic abuse crime')} "
        f"{'was' if crimes == 1 else 'were'} recorded against "
        f"{plural(int(m['da_victims']), 'victim')} by "
        f"{plural(int(m['perpetrators']), 'known perpetrator')}, "
        f"{num(m['da_harm'])} days of harm."
    )
    return {
        "headline": headline,
        "power_curve": concentration_line(c["da_victims_harm"]),
        "power_curve_victims": concentration_line(c["victims_harm"]),
        "power_curve_dyads": concentration_line(c["dyads_harm"]),
        "power_curve_perpetrators": concentration_line(c["perpetrators_harm"]),
        "lorenz": lorenz_line(c["da_victims_harm"], c["da_victims_count"]),
        "repeat_rate": repeat_line(r["da_victims"]),
        "repeat_rate_victims": repeat_line(r["victims"]),
        "repeat_rate_dyads": repeat_line(r["dyads"]),
        "repeat_rate_perpetrators": repeat_line(r["perpetrators"]),
        "survival": survival_line(r["da_victims"]),
        "hazard": hazard_line(r["da_victims"]),
        "hazard_victims": hazard_line(r["victims"]),
        "next_given_k": next_given_k_line(r["da_victims"]),
        "dyads_no_repeat": dyad_line(r["dyads"]),
        "ipv_perpetrators": ipv_line(r["ipv_perpetrators"]),
        "serial": serial_line(profile.serial),
        "escalation": escalation_line(profile.escalation),
        "trend": trend_line(profile),
        "places": place_line(profile),
        "relationship": relationship_line(profile),
        "victim_age_sex": age_sex_line(profile.victim_age_sex.to_dicts(), "DA victimisations"),
        "perpetrator_age_sex": age_sex_line(
            profile.perpetrator_age_sex.to_dicts(), "DA perpetrators' crimes"
        ),
        "dash": dash_line(profile),
        "overlap": overlap_line(profile),
        "outcomes": outcome_line(profile),
        "over_recording": over_recording_line(profile),
        "board": board_line(profile.board),
    }
