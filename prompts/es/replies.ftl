# Plantillas de respuesta para el personal, una por estado (GET /api/v1/reply-templates).
reply-template-acknowledged = Gracias por plantear { $reference }. La hemos leído y vamos a estudiarla; te escribiremos de nuevo aquí.
reply-template-investigating = Estamos estudiando { $reference } con el equipo responsable de este dispositivo y te contaremos lo que encontremos.
reply-template-planned = A raíz de { $reference } hay un cambio previsto. Te avisaremos aquí cuando esté hecho.
reply-template-answered = Esta es nuestra respuesta a { $reference }:
reply-template-resolved = { $reference } está resuelta. Gracias por avisarnos; si algo sigue mal, responde «No, reabrirla» cuando en unos días te preguntemos si esto lo resolvió, y la revisaremos de nuevo.
reply-template-not_responsible = { $reference } corresponde a un organismo que no depende de la ciudad. Los responsables son:
reply-template-duplicate = { $reference } trata de lo mismo que una inquietud anterior; las hemos unido para que recibas noticias de ambas a la vez.
reply-template-reopened = Hemos reabierto { $reference } y la estamos revisando de nuevo.
