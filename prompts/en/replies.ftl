# Reply templates staff start from, one per status (GET /api/v1/reply-templates).
reply-template-acknowledged = Thank you for raising { $reference }. We have read it and will look into it; we will write again here.
reply-template-investigating = We are looking into { $reference } with the team responsible for this deployment and will tell you what we find.
reply-template-planned = Following { $reference }, a change is planned. We will let you know here when it is done.
reply-template-answered = Here is our answer to { $reference }:
reply-template-resolved = { $reference } is resolved. Thank you for telling us; if something is still wrong, answer “No, reopen it” when we ask in a few days whether this solved it, and we will look again.
reply-template-not_responsible = { $reference } concerns a body the city does not run. The people responsible are:
reply-template-duplicate = { $reference } is about the same thing as an earlier concern; we merged them so you hear about both together.
reply-template-reopened = We have reopened { $reference } and are looking at it again.
