"""Building hazard inspections (城市安全隐患排查, 一栋楼一档案): pure cores.

One record per building; inspections run building manager → grid worker → fire office → fire police.
Nothing here touches a database or the web. Errors are :mod:`cases.errors` classes, so the web layer
maps one exception tree for both packages. See docs/inspections.md.
"""
