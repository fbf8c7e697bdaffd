# The resident bot (Telegram HTML: only b, i, code tags; variables are escaped by the bot).
welcome =
    <b>Hello! I answer questions about the sensors, cameras and pilots the city runs in public space.</b>

    Send me the code on a device's sign (like AQ-017), share your location to see what is near you, or just ask in your own words.

    <b>What I keep:</b> looking things up needs nothing from you. If you raise a concern, follow a device or switch on notices, I keep a pseudonym (not your Telegram name or number), your language, your chat so the city can answer you, and what you wrote (with e-mail addresses, phone numbers and plates removed). /mydata sends you all of it; /forget erases it.

    Do you agree to that? You can choose your language too.
consent-agree = I agree
consent-later = Not now
consent-needed = This needs your consent first: I will keep a pseudonym, your language, your chat (so the city can answer you) and what you write. /mydata shows it all and /forget erases it.
consent-thanks = Thank you. You can change your mind at any time with /forget.
consent-declined = No problem: you can still look up devices and ask questions. Nothing about you is kept.
language-choose = Which language would you like?
language-set = I will write to you in English from now on.
help =
    <b>What I can do</b>
    /near — devices near you (share your location)
    Type a code such as AQ-017 — its card: what it is, what data it collects, who is accountable
    Type words such as "camera on Elm street" — search the register
    /report — raise a concern
    /mine — your concerns and the city's replies
    /follow CODE or a district, /unfollow, /following — hear about changes
    /notifications — notices and invitations on or off
    /campaigns — open consultations
    /mydata — everything kept about you; /forget — erase it
    /language — English or Spanish; /cancel — leave what you are doing
card =
    <b>{ $name }</b> · <code>{ $code }</code>
    { $body }
card-line = <b>{ $label }:</b> { $value }
card-pilot-dates = from { $start } to { $end }
card-pilot-from = from { $start } (the end date is not published)
card-pilot-until = until { $end } (the start date is not published)
code-unknown = I could not find a device with the code { $code }. Check the sign, or use /near to see what is around you.
near-ask = Please share your location with the button below (or send any location from the attachment menu).
near-button = Send my location
near-none = I know of no device within { $km } km of that place.
near-list = { $count ->
    [one] The nearest device:
   *[other] The { $count } nearest devices:
}
near-item = { $code } · { $name } · { $distance }
search-results = { $count ->
    [one] One device matches:
   *[other] { $count } devices match:
}
search-results-some = { $more ->
    [yes] More than { $count } devices match
   *[other] { $count } devices match
}; these { $shown } are closest to your words (add a word, a code or a district to narrow it down):
search-item = { $code } · { $name }
answer =
    <b>{ $name }</b> · <code>{ $code }</code>
    { $body }
ask-prompt = What would you like to know about { $code } ({ $name })? For example: "is it recording me?", "who sees the data?", "how long is it kept?"
question-stored = I cannot answer that from the published record, so I have passed your question to the city as { $reference }. You will hear back here; /mine shows it.
question-stored-anonymous = I cannot answer that from the published record, so I have passed your question to the city ({ $reference }). To hear back, give your consent with /start and ask again.
question-which-deployment = Which device do you mean? Send the code on its sign, or use /near.
not-understood = I did not find anything for that. Send a device code (like AQ-017), use /near, or /help.
attachment-not-understood = I can only read text and locations. Send words, a device code, or your location — /help lists everything.
group-chat = I only work in private chats, and I keep nothing from group chats. Write to me directly.
staff-chat-hello = This chat receives the weekly digest. Residents talk to me in private chats.
command-unknown = I do not know that command. /help lists what I can do.
campaign-unknown = That consultation is not open. /campaigns lists the open ones.
campaigns-none = There are no open consultations near you or for what you follow right now.
cancelled = Cancelled. Nothing was sent.
nothing-to-cancel = There was nothing to cancel.
skip-nothing = There is nothing to skip now.
flow-expired = That button belongs to an earlier message. Use the latest one, or /help.
error-not-found = I could not find that.
error-invalid = I could not use that. Please try again.
error-unexpected-saved = Something went wrong on our side after your message was saved. Nothing is lost; /mine shows it.
error-unexpected = Something went wrong on our side. Nothing from your last message was saved; please try again.
button-report = Raise a concern
button-ask = Ask a question
button-follow = Follow
button-unfollow = Unfollow
button-nearby = Nearby
button-cancel = Cancel
button-skip = Skip
button-next = Next ›
button-previous = ‹ Previous
report-ask-target = What is your concern about?
report-target-this = This device ({ $code })
report-target-nearby = A device near me
report-target-general = Something general
report-ask-location-target = Share your location and choose the device from the list (or type its code).
report-target-not-code = Please type a device code (like AQ-017) or use the buttons.
report-ask-text = Tell me your concern about { $code } ({ $name }) in one message, up to { $limit } characters.
report-ask-text-general = Tell me your concern in one message, up to { $limit } characters.
report-too-long = That is { $length } characters; the limit is { $limit }. Send a shorter version, or use the first { $limit } characters — your draft is kept.
report-use-first = Use the first { $limit } characters
report-ask-category = Which part worries you? My suggestion: { $category }.
report-category-suggested = ✓ { $category }
report-ask-feeling = How do you feel about it, from 1 (very unhappy) to 5 (happy)? You can skip this.
feeling-1 = 1 😠
feeling-2 = 2 🙁
feeling-3 = 3 😐
feeling-4 = 4 🙂
feeling-5 = 5 😀
report-ask-location = Where is it? Share a location, or skip.
report-confirm =
    <b>Please check before sending</b>
    About: { $about }
    Category: { $category }
    Feeling: { $feeling }
    Location: { $location }

    { $text }
report-about-deployment = { $code } ({ $name })
report-about-general = general
report-no-feeling = not given
report-location-yes = shared
report-location-no = not shared
report-send = Send
report-change-category = Change category
report-duplicate = On { $date } you raised { $reference } about the same thing: "{ $text }". Add this to it, or file a new concern?
report-add-to = Add to { $reference }
report-file-new = File as new
report-choose-duplicate = Please choose one of the buttons: add to your earlier concern, or file a new one.
report-draft-replaced = Your unsent draft (“{ $text }”) was set aside for this new concern. Copy it from above if you still want to send it.
report-use-buttons = Please use the buttons above, or /cancel.
report-location-words = I cannot place an address on the map. Share a location with the button below (in Telegram you can move the pin to the place), or press Skip.
report-text-only = I am waiting for your concern as a text message (photos, voice and stickers cannot be kept). Type it, or /cancel.
report-done = Thank you. Your concern is saved as <b>{ $reference }</b>. City staff read every concern; when they reply or change its status you will hear it here. /mine shows it at any time.
report-added = Added to { $reference }. Staff see it in its history.
follow-how = Send /follow with a device code (like AQ-017) or a district name, or press Follow on a card.
follow-unknown = I found no device or district called "{ $target }".
follow-done = You follow { $target }. { $notifications ->
    [on] You will hear about changes here.
   *[off] Switch notices on with /notifications to hear about changes.
}
follow-already = You already follow { $target }.
follow-limit = You already follow { $limit } devices and districts, the most I keep for one person, so I did not add { $target }. Unfollow something with /following first.
unfollow-done = You no longer follow { $target }.
unfollow-not-following = You were not following { $target }.
following-none = You do not follow anything yet. Press Follow on a card, or /follow CODE.
following-list =
    <b>You follow</b> ({ $total }, page { $page } of { $pages }):
    { $items }
following-deployment = { $code } · { $name }
following-district = district: { $name }
following-unfollow-item = Unfollow { $target }
notifications-state = Notices and invitations: <b>{ $notifications ->
    [on] on
   *[off] off
}</b>. Keeping your last shared location (rounded to about 250 m, 30 days) for consultations near you: <b>{ $location ->
    [on] on
   *[off] off
}</b>.
notifications-turn-on = Switch notices on
notifications-turn-off = Switch notices off
keep-location-turn-on = Keep my location
keep-location-turn-off = Forget my location
notifications-on = Notices are on.
notifications-off = Notices are off.
keep-location-on = I will keep your last shared location, rounded to about 250 m, for 30 days.
keep-location-off = I will not keep your location, and I have forgotten the one I had.
mine-none = You have not raised any concerns yet. /report raises one.
mine-item = <b>{ $reference }</b> · { $status } · { $date } · { $category }
    { $text }
mine-reply = <i>Reply from the city:</i> { $text }
mine-text-removed = (text removed)
mine-list =
    <b>Your concerns</b> ({ $total }, page { $page } of { $pages })

    { $items }
satisfaction-thanks = Thank you for telling us about { $reference }.
satisfaction-ask-reason = Sorry to hear that. What is still wrong with { $reference }? Your answer reopens it.
satisfaction-reopened = { $reference } is open again, with your reason. Staff will look at it again.
satisfaction-noted = Noted for { $reference }.
satisfaction-still-open = { $reference } is still open; your reason is added to it and staff will see it.
mydata-caption = Everything kept about you, as JSON.
forget-confirm = Erase everything kept about you? Your concerns stay in the city's statistics, but without their text and without any link to you. This cannot be undone.
forget-yes = Yes, erase
forget-no = No, keep
forget-kept = Nothing was erased.
forget-done = Done. { $rows ->
        [one] One record about you was deleted
       *[other] { $rows } records about you were deleted
    }, and { $concerns ->
        [one] one concern was emptied and unlinked
       *[other] { $concerns } concerns were emptied and unlinked
    }. If you write again, you start afresh.
command-start = Welcome, consent and language
command-help = What I can do
command-near = Devices near you
command-report = Raise a concern
command-mine = Your concerns and replies
command-follow = Follow a device or district
command-unfollow = Stop following
command-following = What you follow
command-notifications = Notices on or off
command-campaigns = Open consultations
command-mydata = Everything kept about you
command-forget = Erase your data
command-language = English or Spanish
command-cancel = Leave what you are doing
campaigns-list = { $count ->
    [one] One consultation is open for you:
   *[other] { $count } consultations are open for you:
}
campaign-closed = This consultation is closed, so answers are no longer taken. Thank you all the same.
campaign-intro =
    <b>{ $title }</b>
    { $description }

    { $count ->
        [one] One question.
       *[other] { $count } questions.
    } { $until } You can stop at any time and carry on later where you left off.
campaign-question =
    <b>{ $header }</b>
    { $text }
    <i>{ $hint }</i>
button-back = ‹ Back
button-done = Done
campaign-choose-one = Choose at least one answer, or skip the question if you can.
campaign-use-buttons = Please answer with the buttons above.
campaign-missing = Question { $number } needs an answer before you finish.
campaign-summary =
    <b>Your answers to { $title }</b>
    { $items }

    You can change any answer until the consultation closes.
campaign-summary-item = { $number }. { $question } — <b>{ $answer }</b>
campaign-change = Change answer { $number }
campaign-thanks = Thank you for answering { $title }! { $when }
campaign-results-when = Results will be shared after it closes on { $date }.
campaign-results-when-open = Results will be shared after it closes.
campaign-preview = <b>Preview.</b> You are trying this consultation before it opens: answer as a resident would. Your answers are dropped when it opens.
