# Messages the outbox delivers to residents and staff chats (Telegram HTML: the code escapes every variable).
outbox-reply-header = Reply from the city about your concern { $reference }:
outbox-status = Your concern { $reference } is now: { $status }.
outbox-status-not-responsible = Your concern { $reference } is about something the city does not run. Who is responsible:
outbox-merged-survivor = Your concern { $reference } is about the same thing as { $other }, so we joined them: you will hear about both here.
outbox-merged-both = Your concerns { $reference } and { $other } are about the same thing, so we joined them: you will hear about both under { $reference }.
outbox-merged-duplicate = Your concern { $reference } is about the same thing as { $into }, so we joined them: you will hear about it under { $into }.
outbox-announcement-deployment = News from the city about { $code }, which you follow:
outbox-announcement-district = News from the city about { $district }, a district you follow:
outbox-announcement = News from the city:
outbox-deployment-created = New in the register: { $name } ({ $code }), status { $status }. Type { $code } to see what it collects and who is accountable.
outbox-deployment-changed = { $name } ({ $code }) changed in the register: { $count ->
    [one] one detail was updated
   *[other] { $count } details were updated
}; status { $status }. Type { $code } to see its card.
outbox-satisfaction = Your concern { $reference } was closed a few days ago. Did the city's answer help you?
outbox-satisfaction-yes = Yes, it helped
outbox-satisfaction-no = No, reopen it
outbox-pilot-ending = The pilot of { $name } ({ $code }), which you follow, ends { $days ->
    [one] tomorrow
   *[other] in { $days } days
}, on { $date }. Type { $code } to see its card, or tell the city what you think of it before it decides.
# The weekly digest to staff chats (Telegram HTML; the chart's labels are plain text).
digest-title = Weekly digest, { $week } ({ $start } to { $end })
digest-totals = { $count } concerns ({ $change }), { $questions } unanswered questions; share negative { $negative }.
digest-top = Top concerns
digest-top-line = { $category }: { $count } ({ $change })
digest-debt = Response debt: { $over7 } open for more than 7 days, { $over30 } for more than 30; median time to first reply { $median } h; share answered { $answered }.
digest-attached = The chart and the full summary (Markdown) follow.
digest-chart-caption = Concerns per category and mean sentiment, { $week }
digest-document-caption = Full summary of { $week }
digest-chart-categories = Concerns per category, { $week }
digest-chart-this-week = this week ({ $week })
digest-chart-last-week = last week ({ $week })
digest-chart-sentiment = Mean sentiment (polarity, English texts), last { $weeks } weeks
