"""A live game's results for organisers: every player ranked (CSV with BOM for Excel, XLSX with the unit ranking).

Nicknames are typed by players: every text cell goes through rules.sheet_cell,
which drops the characters XML 1.0 forbids (no XLSX could hold them) and puts
a quote before a leading = + - @ so no spreadsheet evaluates a name.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from quizapp.live import deps, rules

BOM = "\ufeff"
CHINA_OFFSET = dt.timedelta(hours=8)
PLAYER_HEADERS = ("名次", "昵称", "单位代码", "单位名称", "得分", "答对题数", "作答题数", "答对用时(秒)",
                  "加入时间(北京时间)")
UNIT_HEADERS = ("名次", "单位代码", "单位名称", "人数", "人均得分")

_ROWS_SQL = ("SELECT p.id, p.nickname, o.code, o.name, p.score, p.correct_count, p.answered_count, p.time_ms, "
             "p.joined_at, p.organisation_id FROM live_player p JOIN organisation o ON o.id = p.organisation_id "
             "WHERE p.game_id = ?")


def player_rows(game_id: int) -> list[tuple]:
    """Every player of the game in board order, as export rows (PLAYER_HEADERS)."""
    conn = deps.raw()
    rows = {r[0]: r for r in conn.all(_ROWS_SQL, (game_id,))}
    ranked = rules.ranks(rules.Standing(pid, r[4], 0, r[5], r[7]) for pid, r in rows.items())
    out = []
    for rank, s in ranked:
        _pid, nickname, code, name, score, correct, answered, time_ms, joined, _org = rows[s.player_id]
        joined_at = conn.time_out(joined)
        out.append((rank, nickname, code, name, score, correct, answered, round(time_ms / 1000, 1),
                    (joined_at + CHINA_OFFSET).strftime("%Y-%m-%d %H:%M:%S") if joined_at else ""))
    return out


def unit_rows(game_id: int) -> list[tuple]:
    """Unit teams by average score, as export rows (UNIT_HEADERS)."""
    conn = deps.raw()
    rows = conn.all(_ROWS_SQL, (game_id,))
    names = {r[9]: (r[2], r[3]) for r in rows}
    return [(u.rank, names[u.org_id][0], names[u.org_id][1], u.players, u.average)
            for u in rules.unit_ranks((r[9], r[4]) for r in rows)]


def results_csv(game_id: int) -> str:
    """The players' results as CSV (UTF-8 with BOM, so Excel opens the Chinese text)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(PLAYER_HEADERS)
    for row in player_rows(game_id):
        writer.writerow([rules.sheet_cell(v) for v in row])
    return BOM + buf.getvalue()


def results_xlsx(game_id: int) -> bytes:
    """The players' results and the unit ranking as an XLSX workbook (two sheets)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "个人成绩"
    sheet.append(PLAYER_HEADERS)
    for row in player_rows(game_id):
        sheet.append([rules.sheet_cell(v) for v in row])
    units = book.create_sheet("单位排名")
    units.append(UNIT_HEADERS)
    for row in unit_rows(game_id):
        units.append([rules.sheet_cell(v) for v in row])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
