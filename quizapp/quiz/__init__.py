"""The contest's play loop: campaigns and their question pool, participants, attempts, serving and answering,
finishing (best score, boards, badges, anti-cheat flags) and landing-page scans.

Every statement here runs on the request's plain connection (database.raw()),
each lookup and write once; pages, the API, practice and the CLI call these.
The rules are pure functions in quizapp/engine.py.
"""
