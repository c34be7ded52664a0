/* Answerdesk chat widget. Embedded with one line:
     <script src="https://HOST/widget.js" data-key="PUBLIC_KEY" async></script>
   Everything is drawn inside a Shadow DOM; the only global is window.AnswerdeskWidget.
   No framework; message text only ever reaches the page as text nodes, never parsed as HTML. */
(function () {
  "use strict";
  if (window.AnswerdeskWidget) return;
  var me = document.currentScript || document.querySelector("script[data-key][src*='widget']");
  if (!me) return;

  var ORIGIN = new URL(me.src, location.href).origin;
  var API = ORIGIN + "/api/v1";
  var KEY = me.getAttribute("data-key") || "";
  var PREVIEW = readJson(me.getAttribute("data-preview"));
  var STORE = "answerdesk:" + KEY;
  var DEFAULTS = {
    position: "bottom-right", color: "#2563eb", title: "Chat with us", avatar_url: null,
    welcome_message: "", suggestions: [], prechat: { name: "off", email: "off", phone: "off" },
    powered_by_url: null,
  };
  var FIELD_TYPES = { name: ["text", "name"], email: ["email", "email"], phone: ["tel", "tel"] };
  // The widget's own texts. The organization's texts (title, welcome) are shown as typed, except the
  // English defaults, which are ours too. The language: the organization's choice, else the browser's.
  var I18N = {
    en: {
      helpfulQ: "Was this helpful?", yes: "Helpful", no: "Not helpful", whyNot: "What was wrong?",
      rWrong: "Wrong", rNotAsked: "Not what I asked", rOutdated: "Outdated",
      title: "Chat with us", welcome: "Hi! Ask me anything about our services.",
      tooFast: "You are sending messages too quickly. Please wait a moment.",
      unavailable: "Sorry, the chat is not available on this website right now.",
      offline: "You seem to be offline. The chat reconnects when the network is back.", name: "Name",
      email: "E-mail", phone: "Phone", source: "Source {0}: ", sources: "Sources ({0})", you: "You: ",
      assistant: "Assistant: ", support: "Support", failed: "Something went wrong ({0}). Please try again.",
      typing: "Assistant is typing…", staffTyping: "{0} is typing…", here: "{0} is here to help",
      member: "A team member", waiting: "Waiting for a team member…", reconnecting: "Reconnecting…",
      preview: "This is a preview: answers appear here once the widget is on your site.",
      dropped: "The connection dropped while the answer was written.",
      askHuman: "I would like to talk to a human, please.", messages: "Messages", seen: "Seen",
      suggestions: "Suggestions", placeholder: "Type your message…", send: "Send", yourMessage: "Your message",
      human: "Talk to a human", end: "End chat", minimise: "Minimise chat", before: "Before we start",
      optional: " (optional)", start: "Start chat", sendMessage: "Send message", leave: "Leave us a message",
      emailRequired: "E-mail is required.", writeFirst: "Write a message first.", message: "Message",
      notNow: "Not now", required: "{0} is required.", poweredBy: "Powered by {0}",
      badEmail: "Enter an e-mail address like name@example.com.",
      badPhone: "Enter a phone number with at least 5 digits.", rateQ: "How was this chat?", star: "1 star",
      stars: "{0} stars", thanks: "Thank you for your feedback!", sendRating: "Send rating",
      newChat: "Start a new chat", rate: "Rate this chat", chooseStars: "Choose 1 to 5 stars first.",
      ended: "The chat has ended", comment: "Comment (optional)", close: "Close chat", open: "Open chat: {0}",
      unread: " ({0} new)",
      replies: "Typically replies in {0} minutes", replies1: "Typically replies in 1 minute",
    },
    de: {
      helpfulQ: "War das hilfreich?", yes: "Hilfreich", no: "Nicht hilfreich", whyNot: "Was war falsch?",
      rWrong: "Falsch", rNotAsked: "Nicht meine Frage", rOutdated: "Veraltet",
      title: "Chatten Sie mit uns", welcome: "Hallo! Fragen Sie mich alles zu unseren Leistungen.",
      tooFast: "Sie senden Nachrichten zu schnell. Bitte warten Sie einen Moment.",
      unavailable: "Der Chat ist auf dieser Website gerade leider nicht verfügbar.",
      offline: "Sie scheinen offline zu sein. Der Chat verbindet sich wieder, sobald das Netz zurück ist.",
      name: "Name", email: "E-Mail", phone: "Telefon", source: "Quelle {0}: ", sources: "Quellen ({0})",
      you: "Sie: ", assistant: "Assistent: ", support: "Support",
      failed: "Etwas ist schiefgegangen ({0}). Bitte versuchen Sie es noch einmal.",
      typing: "Der Assistent schreibt…", staffTyping: "{0} schreibt…", here: "{0} hilft Ihnen weiter",
      member: "Ein Teammitglied", waiting: "Warten auf ein Teammitglied…",
      reconnecting: "Verbindung wird wiederhergestellt…",
      preview: "Das ist eine Vorschau: Antworten erscheinen hier, sobald das Widget auf Ihrer Website ist.",
      dropped: "Die Verbindung ist abgebrochen, während die Antwort geschrieben wurde.",
      askHuman: "Ich möchte bitte mit einem Menschen sprechen.", messages: "Nachrichten", seen: "Gelesen",
      suggestions: "Vorschläge", placeholder: "Nachricht eingeben…", send: "Senden",
      yourMessage: "Ihre Nachricht", human: "Mit einem Menschen sprechen", end: "Chat beenden",
      minimise: "Chat minimieren", before: "Bevor wir beginnen", optional: " (optional)", start: "Chat starten",
      sendMessage: "Nachricht senden", leave: "Hinterlassen Sie uns eine Nachricht",
      emailRequired: "Die E-Mail-Adresse ist erforderlich.", writeFirst: "Schreiben Sie zuerst eine Nachricht.",
      message: "Nachricht", notNow: "Nicht jetzt", required: "{0} ist erforderlich.", poweredBy: "Bereitgestellt von {0}",
      badEmail: "Geben Sie eine E-Mail-Adresse wie name@example.com ein.",
      badPhone: "Geben Sie eine Telefonnummer mit mindestens 5 Ziffern ein.", rateQ: "Wie war dieser Chat?",
      star: "1 Stern", stars: "{0} Sterne", thanks: "Vielen Dank für Ihr Feedback!",
      sendRating: "Bewertung senden", newChat: "Neuen Chat starten", rate: "Diesen Chat bewerten",
      chooseStars: "Wählen Sie zuerst 1 bis 5 Sterne.", ended: "Der Chat ist beendet",
      comment: "Kommentar (optional)", close: "Chat schließen", open: "Chat öffnen: {0}", unread: " ({0} neu)",
      replies: "Antwortet meist innerhalb von {0} Minuten", replies1: "Antwortet meist innerhalb von 1 Minute",
    },
    fr: {
      helpfulQ: "Cette réponse vous a-t-elle aidé ?", yes: "Utile", no: "Pas utile",
      whyNot: "Qu'est-ce qui n'allait pas ?", rWrong: "Inexacte", rNotAsked: "Pas ma question", rOutdated: "Obsolète",
      title: "Discutez avec nous", welcome: "Bonjour ! Posez-moi toutes vos questions sur nos services.",
      tooFast: "Vous envoyez des messages trop vite. Veuillez patienter un instant.",
      unavailable: "Désolé, le chat n'est pas disponible sur ce site pour le moment.",
      offline: "Vous semblez hors ligne. Le chat se reconnectera dès le retour du réseau.", name: "Nom",
      email: "E-mail", phone: "Téléphone", source: "Source {0} : ", sources: "Sources ({0})", you: "Vous : ",
      assistant: "Assistant : ", support: "Support",
      failed: "Une erreur s'est produite ({0}). Veuillez réessayer.", typing: "L'assistant écrit…",
      staffTyping: "{0} écrit…", here: "{0} est là pour vous aider", member: "Un membre de l'équipe",
      waiting: "En attente d'un membre de l'équipe…", reconnecting: "Reconnexion…",
      preview: "Ceci est un aperçu : les réponses s'afficheront ici une fois le widget installé sur votre site.",
      dropped: "La connexion a été interrompue pendant la rédaction de la réponse.",
      askHuman: "Je voudrais parler à une personne, s'il vous plaît.", messages: "Messages", seen: "Vu",
      suggestions: "Suggestions", placeholder: "Écrivez votre message…", send: "Envoyer",
      yourMessage: "Votre message", human: "Parler à une personne", end: "Terminer le chat",
      minimise: "Réduire le chat", before: "Avant de commencer", optional: " (facultatif)",
      start: "Démarrer le chat", sendMessage: "Envoyer le message", leave: "Laissez-nous un message",
      emailRequired: "L'adresse e-mail est obligatoire.", writeFirst: "Écrivez d'abord un message.",
      message: "Message", notNow: "Plus tard", required: "{0} : champ obligatoire.", poweredBy: "Propulsé par {0}",
      badEmail: "Saisissez une adresse e-mail comme nom@exemple.com.",
      badPhone: "Saisissez un numéro de téléphone d'au moins 5 chiffres.",
      rateQ: "Comment s'est passé ce chat ?", star: "1 étoile", stars: "{0} étoiles",
      thanks: "Merci pour votre avis !", sendRating: "Envoyer la note", newChat: "Démarrer un nouveau chat",
      rate: "Évaluer ce chat", chooseStars: "Choisissez d'abord de 1 à 5 étoiles.",
      ended: "Le chat est terminé", comment: "Commentaire (facultatif)", close: "Fermer le chat",
      open: "Ouvrir le chat : {0}", unread: " ({0} nouveaux)",
      replies: "Répond généralement en {0} minutes", replies1: "Répond généralement en 1 minute",
    },
    es: {
      helpfulQ: "¿Te ha sido útil?", yes: "Útil", no: "No es útil", whyNot: "¿Qué ha fallado?",
      rWrong: "Incorrecta", rNotAsked: "No es lo que pregunté", rOutdated: "Desactualizada",
      title: "Chatea con nosotros", welcome: "¡Hola! Pregúntame lo que quieras sobre nuestros servicios.",
      tooFast: "Estás enviando mensajes demasiado rápido. Espera un momento.",
      unavailable: "Lo sentimos, el chat no está disponible en este sitio web ahora mismo.",
      offline: "Parece que no tienes conexión. El chat se volverá a conectar cuando vuelva la red.",
      name: "Nombre", email: "Correo electrónico", phone: "Teléfono", source: "Fuente {0}: ",
      sources: "Fuentes ({0})", you: "Tú: ", assistant: "Asistente: ", support: "Soporte",
      failed: "Algo ha fallado ({0}). Inténtalo de nuevo.", typing: "El asistente está escribiendo…",
      staffTyping: "{0} está escribiendo…", here: "{0} está aquí para ayudarte",
      member: "Un miembro del equipo", waiting: "Esperando a un miembro del equipo…",
      reconnecting: "Reconectando…",
      preview: "Esto es una vista previa: las respuestas aparecerán aquí cuando el widget esté en tu sitio.",
      dropped: "La conexión se cortó mientras se escribía la respuesta.",
      askHuman: "Me gustaría hablar con una persona, por favor.", messages: "Mensajes", seen: "Visto",
      suggestions: "Sugerencias", placeholder: "Escribe tu mensaje…", send: "Enviar", yourMessage: "Tu mensaje",
      human: "Hablar con una persona", end: "Finalizar chat", minimise: "Minimizar chat",
      before: "Antes de empezar", optional: " (opcional)", start: "Iniciar chat", sendMessage: "Enviar mensaje",
      leave: "Déjanos un mensaje", emailRequired: "El correo electrónico es obligatorio.",
      writeFirst: "Escribe primero un mensaje.", message: "Mensaje", notNow: "Ahora no", poweredBy: "Con la tecnología de {0}",
      required: "{0}: campo obligatorio.", badEmail: "Introduce un correo electrónico como nombre@ejemplo.com.",
      badPhone: "Introduce un número de teléfono con al menos 5 dígitos.", rateQ: "¿Qué tal este chat?",
      star: "1 estrella", stars: "{0} estrellas", thanks: "¡Gracias por tu opinión!",
      sendRating: "Enviar valoración", newChat: "Iniciar un chat nuevo", rate: "Valora este chat",
      chooseStars: "Elige primero de 1 a 5 estrellas.", ended: "El chat ha terminado",
      comment: "Comentario (opcional)", close: "Cerrar chat", open: "Abrir chat: {0}", unread: " ({0} nuevos)",
      replies: "Suele responder en {0} minutos", replies1: "Suele responder en 1 minuto",
    },
    nl: {
      helpfulQ: "Was dit nuttig?", yes: "Nuttig", no: "Niet nuttig", whyNot: "Wat klopte er niet?",
      rWrong: "Onjuist", rNotAsked: "Niet wat ik vroeg", rOutdated: "Verouderd",
      title: "Chat met ons", welcome: "Hallo! Stel me gerust een vraag over onze diensten.",
      tooFast: "Je stuurt te snel berichten. Wacht even.",
      unavailable: "Sorry, de chat is op deze website nu niet beschikbaar.",
      offline: "U lijkt offline te zijn. De chat maakt opnieuw verbinding zodra het netwerk terug is.",
      name: "Naam", email: "E-mail", phone: "Telefoon", source: "Bron {0}: ", sources: "Bronnen ({0})",
      you: "U: ", assistant: "Assistent: ", support: "Support",
      failed: "Er ging iets mis ({0}). Probeer het opnieuw.", typing: "De assistent typt…",
      staffTyping: "{0} typt…", here: "{0} helpt u verder", member: "Een teamlid",
      waiting: "Wachten op een teamlid…", reconnecting: "Opnieuw verbinden…",
      preview: "Dit is een voorbeeld: antwoorden verschijnen hier zodra de widget op uw website staat.",
      dropped: "De verbinding werd verbroken terwijl het antwoord werd geschreven.",
      askHuman: "Ik wil graag met een medewerker praten.", messages: "Berichten", seen: "Gelezen",
      suggestions: "Suggesties", placeholder: "Typ uw bericht…", send: "Versturen", yourMessage: "Uw bericht",
      human: "Praat met een medewerker", end: "Chat beëindigen", minimise: "Chat minimaliseren",
      before: "Voordat we beginnen", optional: " (optioneel)", start: "Chat starten",
      sendMessage: "Bericht versturen", leave: "Laat een bericht achter",
      emailRequired: "E-mailadres is verplicht.", writeFirst: "Schrijf eerst een bericht.", message: "Bericht",
      notNow: "Niet nu", required: "{0} is verplicht.", poweredBy: "Mogelijk gemaakt door {0}",
      badEmail: "Vul een e-mailadres in zoals naam@voorbeeld.nl.",
      badPhone: "Vul een telefoonnummer in met minstens 5 cijfers.", rateQ: "Hoe was deze chat?",
      star: "1 ster", stars: "{0} sterren", thanks: "Bedankt voor uw feedback!",
      sendRating: "Beoordeling versturen", newChat: "Nieuwe chat starten", rate: "Beoordeel deze chat",
      chooseStars: "Kies eerst 1 tot 5 sterren.", ended: "De chat is beëindigd",
      comment: "Opmerking (optioneel)", close: "Chat sluiten", open: "Chat openen: {0}", unread: " ({0} nieuw)",
      replies: "Reageert meestal binnen {0} minuten", replies1: "Reageert meestal binnen 1 minuut",
    },
    it: {
      helpfulQ: "Ti è stato utile?", yes: "Utile", no: "Non utile", whyNot: "Cosa non andava?",
      rWrong: "Sbagliata", rNotAsked: "Non è ciò che ho chiesto", rOutdated: "Non aggiornata",
      title: "Chatta con noi", welcome: "Ciao! Chiedimi qualsiasi cosa sui nostri servizi.",
      tooFast: "Stai inviando messaggi troppo velocemente. Attendi un momento.",
      unavailable: "Spiacenti, al momento la chat non è disponibile su questo sito.",
      offline: "Sembra che tu sia offline. La chat si riconnetterà quando tornerà la rete.", name: "Nome",
      email: "E-mail", phone: "Telefono", source: "Fonte {0}: ", sources: "Fonti ({0})", you: "Tu: ",
      assistant: "Assistente: ", support: "Assistenza", failed: "Qualcosa è andato storto ({0}). Riprova.",
      typing: "L'assistente sta scrivendo…", staffTyping: "{0} sta scrivendo…", here: "{0} è qui per aiutarti",
      member: "Un membro del team", waiting: "In attesa di un membro del team…", reconnecting: "Riconnessione…",
      preview: "Questa è un'anteprima: le risposte appariranno qui quando il widget sarà sul tuo sito.",
      dropped: "La connessione si è interrotta mentre veniva scritta la risposta.",
      askHuman: "Vorrei parlare con una persona, per favore.", messages: "Messaggi", seen: "Visto",
      suggestions: "Suggerimenti", placeholder: "Scrivi il tuo messaggio…", send: "Invia",
      yourMessage: "Il tuo messaggio", human: "Parla con una persona", end: "Termina chat",
      minimise: "Riduci chat", before: "Prima di iniziare", optional: " (facoltativo)", start: "Inizia la chat",
      sendMessage: "Invia messaggio", leave: "Lasciaci un messaggio",
      emailRequired: "L'indirizzo e-mail è obbligatorio.", writeFirst: "Scrivi prima un messaggio.",
      message: "Messaggio", notNow: "Non ora", required: "{0}: campo obbligatorio.", poweredBy: "Con tecnologia {0}",
      badEmail: "Inserisci un indirizzo e-mail come nome@esempio.it.",
      badPhone: "Inserisci un numero di telefono con almeno 5 cifre.", rateQ: "Com'è andata questa chat?",
      star: "1 stella", stars: "{0} stelle", thanks: "Grazie per il tuo feedback!",
      sendRating: "Invia valutazione", newChat: "Inizia una nuova chat", rate: "Valuta questa chat",
      chooseStars: "Scegli prima da 1 a 5 stelle.", ended: "La chat è terminata",
      comment: "Commento (facoltativo)", close: "Chiudi chat", open: "Apri chat: {0}", unread: " ({0} nuovi)",
      replies: "Di solito risponde in {0} minuti", replies1: "Di solito risponde in 1 minuto",
    },
    pt: {
      helpfulQ: "Isto foi útil?", yes: "Útil", no: "Não foi útil", whyNot: "O que estava errado?",
      rWrong: "Errada", rNotAsked: "Não é o que perguntei", rOutdated: "Desatualizada",
      title: "Fale conosco", welcome: "Olá! Pergunte-me o que quiser sobre os nossos serviços.",
      tooFast: "Você está enviando mensagens rápido demais. Aguarde um momento.",
      unavailable: "Desculpe, o chat não está disponível neste site no momento.",
      offline: "Parece que você está offline. O chat volta a se conectar quando a rede voltar.", name: "Nome",
      email: "E-mail", phone: "Telefone", source: "Fonte {0}: ", sources: "Fontes ({0})", you: "Você: ",
      assistant: "Assistente: ", support: "Suporte", failed: "Algo deu errado ({0}). Tente novamente.",
      typing: "O assistente está digitando…", staffTyping: "{0} está digitando…",
      here: "{0} está aqui para ajudar", member: "Um membro da equipe",
      waiting: "Aguardando um membro da equipe…", reconnecting: "Reconectando…",
      preview: "Esta é uma pré-visualização: as respostas aparecem aqui quando o widget estiver no seu site.",
      dropped: "A conexão caiu enquanto a resposta era escrita.",
      askHuman: "Gostaria de falar com uma pessoa, por favor.", messages: "Mensagens", seen: "Visto",
      suggestions: "Sugestões", placeholder: "Digite sua mensagem…", send: "Enviar",
      yourMessage: "Sua mensagem", human: "Falar com uma pessoa", end: "Encerrar chat",
      minimise: "Minimizar chat", before: "Antes de começar", optional: " (opcional)", start: "Iniciar chat",
      sendMessage: "Enviar mensagem", leave: "Deixe uma mensagem", emailRequired: "O e-mail é obrigatório.",
      writeFirst: "Escreva uma mensagem primeiro.", message: "Mensagem", notNow: "Agora não", poweredBy: "Com tecnologia {0}",
      required: "{0} é obrigatório.", badEmail: "Digite um e-mail como nome@exemplo.com.",
      badPhone: "Digite um telefone com pelo menos 5 dígitos.", rateQ: "Como foi este chat?", star: "1 estrela",
      stars: "{0} estrelas", thanks: "Obrigado pela sua avaliação!", sendRating: "Enviar avaliação",
      newChat: "Iniciar um novo chat", rate: "Avalie este chat",
      chooseStars: "Escolha primeiro de 1 a 5 estrelas.", ended: "O chat terminou",
      comment: "Comentário (opcional)", close: "Fechar chat", open: "Abrir chat: {0}", unread: " ({0} novas)",
      replies: "Costuma responder em {0} minutos", replies1: "Costuma responder em 1 minuto",
    },
  };
  var LANG = "en", T = I18N.en;
  function t(key, arg) { return (T[key] || I18N.en[key]).replace("{0}", arg); }
  function pickLanguage(setting) {
    var wanted = setting && setting !== "auto" ? [setting] : [].concat(navigator.languages || [], navigator.language || []);
    for (var i = 0; i < wanted.length; i++) {
      var code = String(wanted[i]).toLowerCase().split("-")[0];
      if (I18N[code]) return code;
    }
    return "en";
  }
  function setLanguage(setting) { LANG = pickLanguage(setting); T = I18N[LANG]; }
  function ours(text, key) { return !text || text === I18N.en[key] ? t(key) : text; }

  var cfg = Object.assign({}, DEFAULTS, PREVIEW || {});
  setLanguage(cfg.language);
  var conv = PREVIEW ? null : load();
  var lastSeq = 0, status = "bot", agentName = "", unread = 0, busy = false, unavailable = "";
  var rendered = {}, pending = [], streaming = null, ended = false;
  var stats = null, statsAt = 0;
  var mode = "ws", live = null, attempt = 0, openedAt = 0, timer = 0, lastTypingSent = 0, seenSent = 0;
  var typingTimer = 0, serverTyping = true, serverSeen = true, waiting = false, closing = Promise.resolve();
  var email = ""; // the customer's, from the pre-chat form or the conversation: prefills "leave a message"

  // ---- DOM --------------------------------------------------------------------------------------------
  function h(tag, attrs) {
    var el = document.createElement(tag);
    for (var k in attrs || {}) {
      var v = attrs[k];
      if (v == null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function add(el, kid) {
    if (kid == null || kid === false) return;
    if (Array.isArray(kid)) kid.forEach(function (k) { add(el, k); });
    else el.append(kid); // strings become text nodes
  }
  function readJson(text) {
    if (!text) return null;
    try { return JSON.parse(text); } catch (e) { return null; }
  }
  function webUrl(u) {
    try { var p = new URL(u); return p.protocol === "http:" || p.protocol === "https:" ? p.href : null; }
    catch (e) { return null; }
  }

  var CSS = [
    ":host{all:initial!important;display:block!important;visibility:visible!important;opacity:1!important;" +
      "position:static!important;width:0!important;height:0!important;margin:0!important;padding:0!important}",
    "*{box-sizing:border-box}[hidden]{display:none!important}",
    ".w{all:initial;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#1f2937}",
    "button,input,textarea{font:inherit;color:inherit;margin:0}button{cursor:pointer;border:0;background:none;padding:0}",
    ".launcher{position:fixed;bottom:20px;right:20px;width:56px;height:56px;border-radius:50%;display:flex;" +
      "align-items:center;justify-content:center;background:var(--c);color:var(--fg);z-index:2147483000;" +
      "box-shadow:0 4px 14px rgba(0,0,0,.25)}",
    ".left .launcher{left:20px;right:auto}.launcher svg{width:28px;height:28px;fill:currentColor}",
    ".badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;border-radius:10px;background:#dc2626;" +
      "color:#fff;font-size:12px;line-height:20px;text-align:center;padding:0 5px}",
    ".panel{position:fixed;bottom:88px;right:20px;width:370px;height:min(620px,calc(100vh - 110px));display:flex;" +
      "flex-direction:column;background:#fff;border-radius:14px;overflow:hidden;z-index:2147483001;" +
      "box-shadow:0 8px 30px rgba(0,0,0,.25)}",
    ".left .panel{left:20px;right:auto}",
    "header{background:var(--c);color:var(--fg);padding:10px 12px;display:flex;align-items:center;gap:10px}",
    "header img{width:34px;height:34px;border-radius:50%;object-fit:cover;background:#fff}",
    ".ttl{flex:1;min-width:0}.ttl h2{margin:0;font-size:16px;font-weight:600;white-space:nowrap;overflow:hidden;" +
      "text-overflow:ellipsis}.sub{font-size:12px;opacity:.9;margin:0}",
    ".hb{width:32px;height:32px;border-radius:8px;display:flex;align-items:center;justify-content:center;" +
      "font-size:18px;line-height:1}.hb:hover,.hb:focus-visible{background:rgba(255,255,255,.2)}",
    ".bar{display:flex;gap:6px;padding:6px 10px;border-bottom:1px solid #e5e7eb;background:#f9fafb}",
    ".bar button{font-size:12px;padding:4px 10px;border-radius:999px;border:1px solid #d1d5db;background:#fff}",
    ".bar button.offer{border-color:var(--c);box-shadow:0 0 0 2px var(--c) inset}",
    ".eta{align-self:center;font-size:11px;color:#4b5563}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#fff}",
    ".msg{max-width:85%;padding:8px 11px;border-radius:12px;word-wrap:break-word;overflow-wrap:anywhere}",
    ".msg p{margin:0 0 6px}.msg p:last-child{margin-bottom:0}.msg ul,.msg ol{margin:4px 0;padding-inline-start:20px}",
    ".msg code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;background:rgba(0,0,0,.07);" +
      "padding:0 3px;border-radius:4px}.msg pre{white-space:pre-wrap;margin:4px 0}",
    ".msg strong{font-weight:700}.msg em{font-style:italic}.msg a{color:#1d4ed8;text-decoration:underline}",
    ".customer{align-self:flex-end;background:var(--c);color:var(--fg);white-space:pre-wrap}",
    ".customer.failed{opacity:.6}.bot,.staff{align-self:flex-start;background:#f3f4f6}",
    ".staff{background:#ecfdf5;border:1px solid #a7f3d0;white-space:pre-wrap}",
    ".who{display:block;font-size:11px;font-weight:600;opacity:.75;margin-bottom:2px}",
    ".system{align-self:center;font-size:12px;color:#4b5563;font-style:italic;text-align:center;max-width:95%}",
    ".seen{align-self:flex-end;font-size:11px;color:#6b7280;margin-top:-4px}",
    ".cite{display:inline;color:#1d4ed8;font-size:12px;font-weight:600;vertical-align:super;line-height:1;" +
      "padding:0 1px;text-decoration:none;cursor:pointer}",
    ".sources{margin-top:6px;font-size:12px;color:#4b5563}.sources summary{cursor:pointer}",
    ".sources ol{margin:4px 0;padding-inline-start:18px}.sources li.hl{background:#fef3c7}",
    ".typing{padding:0 14px 6px;font-size:12px;color:#6b7280;display:flex;gap:6px;align-items:center}",
    ".dots i{display:inline-block;width:6px;height:6px;margin-right:3px;border-radius:50%;background:#9ca3af;" +
      "animation:b 1s infinite}.dots i:nth-child(2){animation-delay:.15s}.dots i:nth-child(3){animation-delay:.3s}",
    "@keyframes b{0%,80%,100%{opacity:.3}40%{opacity:1}}",
    "@media (prefers-reduced-motion:reduce){.dots i{animation:none}}",
    ".chips{display:flex;flex-wrap:wrap;gap:6px;padding:0 12px 8px}",
    ".chips button{border:1px solid var(--c);color:#111827;border-radius:999px;padding:5px 11px;font-size:13px;" +
      "background:#fff;text-align:start}.chips button:hover{background:#f3f4f6}",
    ".err{margin:0 12px 8px;padding:8px 10px;border-radius:8px;background:#fef2f2;color:#991b1b;font-size:13px}",
    "form.compose{display:flex;gap:8px;padding:10px;border-top:1px solid #e5e7eb;align-items:flex-end}",
    "textarea,input{width:100%;border:1px solid #d1d5db;border-radius:8px;padding:8px 10px;background:#fff;" +
      "color:#111827;resize:none}",
    "textarea{max-height:120px;min-height:40px}",
    ".send,.primary{background:var(--c);color:var(--fg);border-radius:8px;padding:9px 14px;font-weight:600}",
    ".send:disabled,.primary:disabled{opacity:.5;cursor:default}",
    ".card{padding:12px 14px;border-top:1px solid #e5e7eb;display:flex;flex-direction:column;gap:8px}",
    ".card h3{margin:0;font-size:14px;font-weight:600}.card label{font-size:13px;font-weight:500}",
    ".ferr{color:#b91c1c;font-size:12px;margin:0}.opt{font-weight:400;color:#6b7280}",
    ".stars{display:flex;gap:4px;border:0;padding:0;margin:0}.stars legend{font-size:13px;margin-bottom:4px;padding:0}",
    ".stars label{font-size:22px;cursor:pointer;color:#d1d5db}.stars label.on{color:#f59e0b}",
    ".stars input{position:absolute;opacity:0;width:1px;height:1px}.stars input:focus-visible+span{outline:2px solid var(--c)}",
    ".fbrow{display:flex;flex-wrap:wrap;align-items:center;gap:4px;margin-top:6px;font-size:12px;color:#4b5563}",
    ".fb{width:26px;height:26px;border-radius:6px;display:inline-flex;align-items:center;justify-content:center;color:#6b7280}",
    ".fb svg{width:15px;height:15px;fill:currentColor}.fb:hover{background:#e5e7eb}",
    ".fb[aria-pressed=true]{color:var(--c);background:#e5e7eb}.fbnote{margin-inline-start:4px}",
    ".why{display:flex;flex-wrap:wrap;gap:4px;align-items:center;width:100%}.why span{margin-inline-end:2px}",
    ".why button{border:1px solid #d1d5db;border-radius:999px;padding:2px 9px;background:#fff;font-size:12px}",
    ".why button[aria-pressed=true]{border-color:var(--c);box-shadow:0 0 0 1px var(--c) inset}",
    ".row{display:flex;gap:8px}.link{text-decoration:underline;font-size:13px}",
    ".brand{margin:0;padding:0 10px 8px;text-align:center;font-size:11px}.brand a{color:#6b7280;text-decoration:none}",
    ".brand a:hover{text-decoration:underline}",
    ":focus-visible{outline:2px solid #1d4ed8;outline-offset:2px}",
    ".sr{position:absolute!important;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    "@media (max-width:480px){.panel{inset:0;width:100%;height:100%;border-radius:0}.open .launcher{display:none}}",
  ].join("\n");

  // ---- Markdown: block structure, then inline spans; every piece of text is a text node --------------
  var INLINE = /(`[^`\n]+`)|\*\*([^*\n]+)\*\*|__([^_\n]+)__|\*([^*\n]+)\*|\[([^\]\n]+)\]\(([^)\s]+)\)|\[(\d{1,2})\]|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])/g;

  function inline(text, ctx) {
    var out = [], last = 0, m;
    INLINE.lastIndex = 0;
    while ((m = INLINE.exec(text))) {
      var end = m.index + m[0].length;
      if (m.index > last) out.push(text.slice(last, m.index));
      if (m[1]) out.push(h("code", null, m[1].slice(1, -1)));
      else if (m[2] || m[3]) out.push(h("strong", null, inline(m[2] || m[3], ctx)));
      else if (m[4]) out.push(h("em", null, inline(m[4], ctx)));
      else if (m[5]) out.push(link(m[6], m[5], ctx) || m[0]);
      else if (m[7]) out.push(citeButton(+m[7], ctx) || m[0]);
      else if (m[8]) out.push(link(m[8], m[8], ctx));
      last = INLINE.lastIndex = end; // the recursion above moved the shared regex on
    }
    if (last < text.length) out.push(text.slice(last));
    return out;
  }

  function link(href, text, ctx) {
    var url = webUrl(href);
    if (!url) return null;
    return h("a", { href: url, target: "_blank", rel: "noopener noreferrer nofollow" }, text);
  }

  function markdown(src, ctx) {
    var out = [], para = [], list = null, listTag = "", fence = null;
    var lines = String(src || "").replace(/\r\n?/g, "\n").split("\n");
    function flush() {
      if (!para.length) return;
      var p = h("p", { dir: "auto" });
      para.forEach(function (line, i) { if (i) p.append(h("br")); add(p, inline(line, ctx)); });
      out.push(p);
      para = [];
    }
    lines.forEach(function (line) {
      if (fence) {
        if (/^\s*```/.test(line)) { out.push(h("pre", { dir: "ltr" }, h("code", null, fence.join("\n")))); fence = null; }
        else fence.push(line);
        return;
      }
      if (/^\s*```/.test(line)) { flush(); list = null; fence = []; return; }
      var item = /^\s*([-*+]|\d{1,3}[.)])\s+(.*)$/.exec(line);
      if (item) {
        flush();
        var tag = /\d/.test(item[1]) ? "ol" : "ul";
        if (!list || listTag !== tag) { list = h(tag); listTag = tag; out.push(list); }
        list.append(h("li", { dir: "auto" }, inline(item[2], ctx)));
      } else if (!line.trim()) {
        flush(); list = null;
      } else if (list && /^\s{2,}\S/.test(line)) {
        add(list.lastChild, [" ", inline(line.trim(), ctx)]);
      } else {
        list = null;
        var head = /^#{1,6}\s+(.*)$/.exec(line);
        if (head) { flush(); out.push(h("p", { dir: "auto" }, h("strong", null, inline(head[1], ctx)))); }
        else para.push(line);
      }
    });
    if (fence) out.push(h("pre", null, h("code", null, fence.join("\n"))));
    flush();
    return out;
  }

  // ---- citations: [n] opens an http(s) source, or shows the title and section --------------------------
  function citeButton(n, ctx) {
    var c = ctx && ctx.cites[n];
    if (!c) return null;
    var label = t("source", n) + c.title + (c.section ? " — " + c.section : "");
    var url = webUrl(c.source);
    if (url) return h("a", { class: "cite", href: url, target: "_blank", rel: "noopener noreferrer", "aria-label": label, title: label }, "[" + n + "]");
    return h("button", { type: "button", class: "cite", "aria-label": label, title: label, onclick: function () { showSource(ctx, n); } }, "[" + n + "]");
  }

  function showSource(ctx, n) {
    ctx.details.open = true;
    var items = ctx.details.querySelectorAll("li");
    for (var i = 0; i < items.length; i++) items[i].classList.toggle("hl", items[i].getAttribute("data-n") === String(n));
    var li = ctx.details.querySelector("li[data-n='" + n + "']");
    if (li) { li.scrollIntoView({ block: "nearest" }); li.focus(); }
  }

  function sources(list, ctx) {
    var ol = h("ol");
    list.forEach(function (c) {
      var url = webUrl(c.source);
      var name = c.title + (c.section ? " — " + c.section : "");
      ol.append(h("li", { "data-n": c.n, tabindex: "-1", dir: "auto" },
        url ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, name) : name));
    });
    ctx.details = h("details", { class: "sources" }, h("summary", null, t("sources", list.length)), ol);
    return ctx.details;
  }

  // ---- rendering messages ------------------------------------------------------------------------------
  function messageEl(m) {
    var el = h("div", { class: "msg " + m.sender, "data-seq": m.seq });
    if (m.sender === "system") { el.append(h("span", { dir: "auto" }, m.content)); return el; }
    if (m.sender === "customer") { el.append(h("span", { class: "sr" }, t("you")), h("span", { dir: "auto" }, m.content)); return el; }
    if (m.sender === "staff") {
      el.append(h("span", { class: "who" }, agentName || t("support")), h("span", { dir: "auto" }, m.content));
      return el;
    }
    var ctx = { cites: {}, details: null };
    (m.citations || []).forEach(function (c) { ctx.cites[c.n] = c; });
    el.append(h("span", { class: "sr" }, t("assistant")));
    var box = (m.citations || []).length ? sources(m.citations, ctx) : null;
    add(el, markdown(m.content, ctx));
    if (box) el.append(box);
    if (m.id && conv && !PREVIEW && m.mode !== "handoff") el.append(feedbackRow(m));
    return el;
  }

  // ---- answer feedback: thumbs up / down under a bot answer, then an optional reason for "down" ---------
  var THUMB = "M2 21h4V9H2v12zm21-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.5-1.1L14.2 1 7.6 7.6C7.2 8 7 8.5 7 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z";
  var REASONS = [["wrong", "rWrong"], ["not_asked", "rNotAsked"], ["outdated", "rOutdated"]];
  function feedbackRow(m) {
    var state = m.feedback ? { helpful: m.feedback.helpful, reason: m.feedback.reason } : null;
    function thumb(helpful) {
      var icon = svg(THUMB);
      if (!helpful) icon.setAttribute("style", "transform:rotate(180deg)");
      return h("button", { type: "button", class: "fb", "aria-label": t(helpful ? "yes" : "no"), title: t(helpful ? "yes" : "no"),
        onclick: function () { rate(helpful, null); } }, icon);
    }
    var up = thumb(true), down = thumb(false), note = h("span", { class: "fbnote", role: "status" });
    var why = h("div", { class: "why", role: "group", "aria-label": t("whyNot"), hidden: true }, h("span", null, t("whyNot")),
      REASONS.map(function (r) {
        return h("button", { type: "button", "data-reason": r[0], onclick: function () { rate(false, r[0]); } }, t(r[1]));
      }));
    function paint() {
      up.setAttribute("aria-pressed", String(!!state && state.helpful));
      down.setAttribute("aria-pressed", String(!!state && !state.helpful));
      why.hidden = !state || state.helpful;
      why.querySelectorAll("button").forEach(function (b) {
        b.setAttribute("aria-pressed", String(!!state && b.getAttribute("data-reason") === state.reason));
      });
    }
    function rate(helpful, reason) {
      var before = state;
      state = { helpful: helpful, reason: reason };
      paint();
      note.textContent = "";
      api("POST", "/conversations/" + conv.id + "/feedback", { message_id: m.id, helpful: helpful, reason: reason }).then(
        function () { if (helpful || reason) note.textContent = t("thanks"); },
        function (err) { state = before; paint(); showError(err); });
    }
    paint();
    return h("div", { class: "fbrow" }, h("span", null, t("helpfulQ")), up, down, why, note);
  }

  function addMessage(m) {
    if (!m || typeof m.seq !== "number" || rendered[m.seq]) return false;
    var el;
    if (m.sender === "customer" && pending.length && pending[0].text === m.content) {
      el = pending.shift().el; // our own message, echoed by the live channel before the reply finished
      el.setAttribute("data-seq", m.seq);
      el.classList.remove("failed");
    } else {
      el = messageEl(m);
      if (m.sender === "bot" && streaming) { streaming.remove(); streaming = null; }
      var after = null, kids = ui.log.children;
      for (var i = 0; i < kids.length; i++) {
        var s = kids[i].getAttribute("data-seq");
        if (s === null ? kids[i] !== ui.welcome : +s > m.seq) { after = kids[i]; break; }
      }
      ui.log.insertBefore(el, after);
    }
    rendered[m.seq] = el;
    if (m.seq > lastSeq) lastSeq = m.seq;
    if (m.sender !== "customer") { showTyping(false); ui.seen.remove(); }
    scrollDown();
    return true;
  }

  function scrollDown() { ui.log.scrollTop = ui.log.scrollHeight; }

  // ---- API ---------------------------------------------------------------------------------------------
  function ChatError(message, status, code) { this.message = message; this.status = status; this.code = code; }

  // The server's error messages are English: English visitors read them, others the widget's own texts.
  function errorText(e, status) {
    if (LANG === "en" && e.message) return e.message;
    if (e.code === "rate_limited") return t("tooFast");
    if (e.code === "organization_suspended" || e.code === "plan_limit" || e.code === "unauthorized") return t("unavailable");
    return t("failed", status);
  }

  function api(method, path, body, accept) {
    var headers = { Authorization: "Bearer " + KEY };
    if (conv) headers["X-Conversation-Token"] = conv.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (accept) headers.Accept = accept;
    return fetch(API + path, {
      method: method, headers: headers, cache: "no-store", credentials: "omit",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (r) {
      if (r.ok) return r;
      return r.json().catch(function () { return {}; }).then(function (j) {
        var e = (j && j.error) || {};
        throw new ChatError(errorText(e, r.status), r.status, e.code);
      });
    }, function () {
      // A refused origin looks like a network failure: browsers hide the 403 from pages it does not allow.
      throw new ChatError(t(navigator.onLine === false ? "offline" : "unavailable"), 0, "network");
    });
  }

  function json(r) { return r.json(); }

  function readEvents(resp, onEvent) {
    var reader = resp.body.getReader(), dec = new TextDecoder(), buf = "";
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) return;
        buf += dec.decode(chunk.value, { stream: true });
        var i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          var block = buf.slice(0, i), ev = "message", data = [];
          buf = buf.slice(i + 2);
          block.split("\n").forEach(function (line) {
            line = line.replace(/\r$/, "");
            if (line.indexOf("event:") === 0) ev = line.slice(6).trim();
            else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
          });
          var parsed = data.length ? readJson(data.join("\n")) : null;
          if (parsed) onEvent(ev, parsed);
        }
        return pump();
      });
    }
    return pump();
  }

  function load() {
    try { return JSON.parse(localStorage.getItem(STORE) || "null"); } catch (e) { return null; }
  }
  function save() {
    try {
      if (conv) localStorage.setItem(STORE, JSON.stringify(conv));
      else localStorage.removeItem(STORE);
    } catch (e) { /* storage blocked: the chat still works until the page is left */ }
  }

  // ---- UI ----------------------------------------------------------------------------------------------
  var host = document.createElement("answerdesk-chat");
  var root = host.attachShadow({ mode: "open" });
  var ui = {};

  function build() {
    var title = ours(cfg.title, "title");
    ui.launcher = h("button", { class: "launcher", type: "button", "aria-expanded": "false", "aria-controls": "ad-panel", onclick: toggle },
      svg("M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"), ui.badge = h("span", { class: "badge", hidden: true, "aria-hidden": "true" }));
    var welcome = cfg.welcome_message && ours(cfg.welcome_message, "welcome");
    ui.welcome = welcome ? h("div", { class: "msg bot" }, h("span", { class: "sr" }, t("assistant")), markdown(welcome, null)) : null;
    ui.log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": t("messages"), tabindex: "0" }, ui.welcome);
    ui.seen = h("div", { class: "seen" }, t("seen"));
    ui.typingText = h("span", null, t("typing"));
    ui.typing = h("div", { class: "typing", hidden: true }, h("span", { class: "dots", "aria-hidden": "true" }, h("i"), h("i"), h("i")), ui.typingText);
    ui.chips = h("div", { class: "chips", role: "group", "aria-label": t("suggestions") });
    ui.error = h("div", { class: "err", role: "alert", hidden: true });
    ui.input = h("textarea", { id: "ad-input", rows: "1", dir: "auto", placeholder: t("placeholder"), maxlength: "4000", oninput: onInput, onkeydown: onComposerKey });
    ui.send = h("button", { class: "send", type: "submit" }, t("send"));
    ui.compose = h("form", { class: "compose", onsubmit: function (e) { e.preventDefault(); send(ui.input.value); } },
      h("label", { class: "sr", for: "ad-input" }, t("yourMessage")), ui.input, ui.send);
    ui.human = h("button", { type: "button", onclick: talkToHuman, "aria-describedby": "ad-eta" }, t("human"));
    ui.eta = h("span", { id: "ad-eta", class: "eta", hidden: true });
    ui.end = h("button", { type: "button", onclick: function () { endChat(true); } }, t("end"));
    ui.bar = h("div", { class: "bar" }, ui.human, ui.eta, ui.end);
    ui.sub = h("p", { class: "sub", dir: "auto" });
    ui.prechat = prechatForm();
    ui.rating = ratingForm();
    ui.leave = leaveForm();
    ui.panel = h("section", { id: "ad-panel", class: "panel", role: "dialog", "aria-modal": "true", "aria-label": title, hidden: true, onkeydown: onPanelKey },
      h("header", null,
        webUrl(cfg.avatar_url) ? h("img", { src: webUrl(cfg.avatar_url), alt: "", referrerpolicy: "no-referrer" }) : null,
        h("div", { class: "ttl" }, h("h2", { dir: "auto" }, title), ui.sub),
        h("button", { class: "hb", type: "button", "aria-label": t("minimise"), onclick: close }, "–")),
      ui.bar, ui.log, ui.typing, ui.chips, ui.error, ui.prechat, ui.leave, ui.rating, ui.compose, poweredBy());
    var fg = contrast(cfg.color);
    ui.wrap = h("div", { class: "w" + (cfg.position === "bottom-left" ? " left" : ""), lang: LANG, style: "--c:" + safeColor(cfg.color) + ";--fg:" + fg }, ui.launcher, ui.panel);
    root.replaceChildren(h("style", null, CSS), ui.wrap);
    setLauncherLabel();
    syncBar();
  }

  // The plan decides: the server sends a link only when the organization's plan keeps the branding.
  function poweredBy() {
    var url = webUrl(cfg.powered_by_url);
    if (!url) return null;
    return h("p", { class: "brand" }, h("a", { href: url, target: "_blank", rel: "noopener" }, t("poweredBy", "Answerdesk")));
  }

  function svg(path) {
    var ns = "http://www.w3.org/2000/svg", s = document.createElementNS(ns, "svg"), p = document.createElementNS(ns, "path");
    s.setAttribute("viewBox", "0 0 24 24"); s.setAttribute("aria-hidden", "true"); p.setAttribute("d", path);
    s.append(p);
    return s;
  }
  function safeColor(c) { return /^#[0-9a-fA-F]{6}$/.test(c || "") ? c : DEFAULTS.color; }
  function contrast(c) {
    c = safeColor(c);
    var rgb = [1, 3, 5].map(function (i) {
      var v = parseInt(c.substr(i, 2), 16) / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2] > 0.4 ? "#111827" : "#ffffff";
  }

  function prechatForm() {
    var inputs = {};
    var form = h("form", { class: "card", hidden: true, novalidate: true, "aria-label": t("before"), onsubmit: function (e) {
      e.preventDefault();
      var customer = {}, firstBad = null;
      Object.keys(inputs).forEach(function (name) {
        var f = inputs[name], v = f.input.value.trim(), problem = fieldProblem(name, v, cfg.prechat[name] === "required");
        f.error.textContent = problem || "";
        f.error.hidden = !problem;
        if (problem) { f.input.setAttribute("aria-invalid", "true"); firstBad = firstBad || f.input; }
        else f.input.removeAttribute("aria-invalid");
        if (v) customer[name] = v;
      });
      if (firstBad) { firstBad.focus(); return; }
      email = customer.email || "";
      startConversation({ customer: customer }).then(function () {
        showPrechat(false);
        ui.input.focus();
      }, showError);
    } }, h("h3", null, t("before")));
    ["name", "email", "phone"].forEach(function (name) {
      var modeFor = (cfg.prechat || {})[name];
      if (modeFor !== "optional" && modeFor !== "required") return;
      var id = "ad-f-" + name, kind = FIELD_TYPES[name];
      var input = h("input", { id: id, name: name, type: kind[0], autocomplete: kind[1], dir: "auto", required: modeFor === "required", "aria-describedby": id + "-e", maxlength: name === "phone" ? "40" : "200" });
      var error = h("p", { class: "ferr", id: id + "-e", hidden: true });
      inputs[name] = { input: input, error: error };
      form.append(h("label", { for: id }, t(name), modeFor === "optional" ? h("span", { class: "opt" }, t("optional")) : null), input, error);
    });
    form.append(h("button", { class: "primary", type: "submit" }, t("start")));
    return form;
  }

  // Nobody is online: the message and the chat's transcript become a ticket answered by e-mail.
  function leaveForm() {
    var f = {}, sending = false;
    function field(name, label, el) {
      var id = "ad-lm-" + name, err = h("p", { class: "ferr", id: id + "-e", hidden: true });
      el.id = id; el.setAttribute("aria-describedby", id + "-e"); el.required = true;
      el.addEventListener("input", function () { err.hidden = true; el.removeAttribute("aria-invalid"); });
      f[name] = { input: el, error: err };
      return [h("label", { for: id }, label), el, err];
    }
    var submit = h("button", { class: "primary", type: "submit" }, t("sendMessage"));
    var form = h("form", { class: "card", hidden: true, novalidate: true, "aria-label": t("leave"), onsubmit: function (e) {
      e.preventDefault();
      if (sending) return;
      var firstBad = null, body = {};
      ["message", "email"].forEach(function (name) {
        var v = f[name].input.value.trim(), problem = !v ? t(name === "email" ? "emailRequired" : "writeFirst") : name === "email" ? fieldProblem("email", v) : "";
        f[name].error.textContent = problem;
        f[name].error.hidden = !problem;
        if (problem) f[name].input.setAttribute("aria-invalid", "true"); else f[name].input.removeAttribute("aria-invalid");
        if (problem) firstBad = firstBad || f[name].input;
        body[name] = v;
      });
      if (firstBad) { firstBad.focus(); return; }
      busyLeave(true);
      showError("");
      api("POST", "/conversations/" + conv.id + "/leave-message", body).then(json).then(function (j) {
        email = body.email;
        f.message.input.value = "";
        busyLeave(false);
        showLeave(false);
        addMessage(j.message);
        ui.input.focus();
      }, function (err) { busyLeave(false); showError(err); });
    } }, h("h3", null, t("leave")),
      field("message", t("message"), h("textarea", { rows: "3", dir: "auto", maxlength: "4000", onkeydown: function (e) {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
      } })),
      field("email", t("email"), h("input", { type: "email", autocomplete: "email", maxlength: "320" })),
      h("div", { class: "row" }, submit, h("button", { class: "link", type: "button", onclick: function () { showLeave(false); ui.input.focus(); } }, t("notNow"))));
    function busyLeave(on) {
      sending = on;
      submit.disabled = on;
      f.message.input.disabled = f.email.input.disabled = on;
      form.setAttribute("aria-busy", String(on));
    }
    form.fill = function () { if (!f.email.input.value) f.email.input.value = email; f.message.input.focus(); };
    return form;
  }

  function showLeave(on) {
    ui.leave.hidden = !on;
    ui.compose.hidden = on || ended;
    if (on) { ui.chips.replaceChildren(); ui.leave.fill(); }
  }

  function fieldProblem(name, v, required) {
    if (!v) return required ? t("required", t(name)) : "";
    if (name === "email" && !/^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/.test(v)) return t("badEmail");
    if (name === "phone" && (!/^[0-9+\-(). /]+$/.test(v) || v.replace(/\D/g, "").length < 5)) return t("badPhone");
    return "";
  }

  function ratingForm() {
    var stars = [], chosen = 0;
    var box = h("fieldset", { class: "stars" }, h("legend", null, t("rateQ")));
    for (var i = 1; i <= 5; i++) (function (n) {
      var input = h("input", { type: "radio", name: "ad-rating", value: n, id: "ad-r" + n, onchange: function () { chosen = n; paint(); } });
      var label = h("label", { for: "ad-r" + n }, input, h("span", { "aria-hidden": "true" }, "★"), h("span", { class: "sr" }, n === 1 ? t("star") : t("stars", n)));
      stars.push(label);
      box.append(label);
    })(i);
    function paint() { stars.forEach(function (l, i) { l.classList.toggle("on", i < chosen); }); }
    var comment = h("textarea", { id: "ad-comment", rows: "2", dir: "auto", maxlength: "2000" });
    var thanks = h("p", { hidden: true, role: "status" }, t("thanks"));
    var submit = h("button", { class: "primary", type: "submit" }, t("sendRating"));
    var again = h("button", { class: "link", type: "button", onclick: newChat }, t("newChat"));
    var form = h("form", { class: "card", hidden: true, "aria-label": t("rate"), onsubmit: function (e) {
      e.preventDefault();
      if (!chosen) { showError(t("chooseStars")); return; }
      submit.disabled = true;
      closing.then(function () {
        return api("POST", "/conversations/" + conv.id + "/rating", { rating: chosen, comment: comment.value.trim() || null });
      }).then(function () {
        box.hidden = true; comment.hidden = true; comment.previousSibling.hidden = true; submit.hidden = true;
        thanks.hidden = false; showError("");
        again.focus();
      }, function (err) { submit.disabled = false; showError(err); });
    } }, h("h3", null, t("ended")), box, h("label", { for: "ad-comment" }, t("comment")), comment, thanks, h("div", { class: "row" }, submit, again));
    return form;
  }

  function setLauncherLabel() {
    var open = !ui.panel.hidden;
    ui.launcher.setAttribute("aria-label", (open ? t("close") : t("open", ours(cfg.title, "title"))) + (unread && !open ? t("unread", unread) : ""));
    ui.launcher.setAttribute("aria-expanded", String(open));
    ui.badge.hidden = !unread || open;
    ui.badge.textContent = String(unread);
  }

  function open(focus) {
    loadStats();
    ui.panel.hidden = false;
    ui.wrap.classList.add("open");
    unread = 0;
    setLauncherLabel();
    remember(true);
    if (unavailable) showError(unavailable);
    if (focus !== false) (firstField() || ui.input).focus();
    scrollDown();
    markSeen();
  }
  function close() {
    ui.panel.hidden = true;
    ui.wrap.classList.remove("open");
    setLauncherLabel();
    remember(false);
    ui.launcher.focus();
  }
  function toggle() { if (ui.panel.hidden) open(); else close(); }
  function remember(isOpen) { if (conv) { conv.open = isOpen; save(); } }
  function firstField() { return ui.prechat.hidden ? null : ui.prechat.querySelector("input"); }

  function onPanelKey(e) {
    if (e.key === "Escape") { e.preventDefault(); close(); return; }
    if (e.key !== "Tab") return;
    var items = Array.prototype.filter.call(ui.panel.querySelectorAll("button,input,textarea,a[href],summary,[tabindex='0']"), function (el) {
      return !el.disabled && el.getClientRects().length > 0;
    });
    if (!items.length) return;
    var first = items[0], last = items[items.length - 1], active = root.activeElement;
    if (e.shiftKey && (active === first || !ui.panel.contains(active))) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && active === last) { e.preventDefault(); first.focus(); }
  }

  function onComposerKey(e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(ui.input.value); }
  }

  function onInput() {
    ui.input.style.height = "auto";
    ui.input.style.height = Math.min(ui.input.scrollHeight + 2, 120) + "px";
    var now = Date.now();
    if (!conv || PREVIEW || now - lastTypingSent < 3000 || !ui.input.value.trim()) return;
    lastTypingSent = now;
    if (live instanceof WebSocket && live.readyState === 1) live.send(JSON.stringify({ type: "typing" }));
    else if (serverTyping) api("POST", "/conversations/" + conv.id + "/typing", {}).catch(function (err) { if (err.status === 404 || err.status === 405) serverTyping = false; });
  }

  function showError(err) {
    var text = typeof err === "string" ? err : (err && err.message) || t("unavailable");
    ui.error.textContent = text;
    ui.error.hidden = !text;
  }

  function showTyping(on, text, ms) {
    clearTimeout(typingTimer);
    ui.typing.hidden = !on;
    ui.typingText.textContent = text || t("typing");
    if (on && ms) typingTimer = setTimeout(function () { ui.typing.hidden = true; }, ms);
  }

  function showChips(list) {
    ui.chips.replaceChildren();
    (list || []).slice(0, 4).forEach(function (s) {
      ui.chips.append(h("button", { type: "button", dir: "auto", onclick: function () { send(s); } }, s));
    });
  }

  function showPrechat(on) {
    ui.prechat.hidden = !on;
    ui.compose.hidden = on || ended;
    if (on) ui.chips.replaceChildren();
  }

  function prechatNeeded() {
    var p = cfg.prechat || {};
    return !conv && ["name", "email", "phone"].some(function (n) { return p[n] === "optional" || p[n] === "required"; });
  }

  function setBusy(on) {
    busy = on;
    ui.send.disabled = on || !!unavailable;
    ui.human.disabled = on || !!unavailable;
  }

  function setStatus(value, name) {
    if (name) agentName = name;
    if (value) status = value;
    ui.sub.textContent = status === "human" ? t("here", agentName || t("member")) : waiting ? t("waiting") : "";
    syncBar();
    if (status === "closed") endChat(false);
  }

  function syncBar() {
    ui.human.hidden = status !== "bot" || waiting;
    ui.end.hidden = !conv;
    // "Typically replies in N minutes" beside the offer, while someone is in to keep that promise.
    var n = stats && stats.staff_online > 0 ? stats.typical_reply_minutes : null;
    ui.eta.textContent = n ? (n === 1 ? t("replies1") : t("replies", n)) : "";
    ui.eta.hidden = ui.human.hidden || !n;
  }

  // Staff online and the typical reply time: asked on opening, at most once a minute (the server caches too).
  function loadStats() {
    if (PREVIEW || unavailable || Date.now() - statsAt < 60000) return;
    statsAt = Date.now();
    api("GET", "/chat/stats").then(json).then(function (j) { stats = j; syncBar(); }, function () {});
  }

  // ---- conversation ------------------------------------------------------------------------------------
  function startConversation(body) {
    if (PREVIEW) { conv = null; return Promise.resolve(); }
    // The widget's language tells the server which language to greet in until the visitor writes.
    return api("POST", "/conversations", Object.assign({ language: LANG }, body)).then(json).then(function (c) {
      conv = { id: c.id, token: c.token, open: true };
      save();
      syncBar();
      connectLive();
    });
  }

  function ensureConversation() { return conv || PREVIEW ? Promise.resolve() : startConversation({}); }

  function send(text) {
    text = (text || "").trim();
    if (!text || busy || ended) return;
    if (unavailable) { showError(unavailable); return; }
    if (prechatNeeded() && !PREVIEW) { showPrechat(true); firstField().focus(); return; }
    setBusy(true);
    showError("");
    ui.chips.replaceChildren();
    ui.input.value = "";
    onInput();
    var mine = { text: text, el: h("div", { class: "msg customer" }, h("span", { class: "sr" }, t("you")), h("span", { dir: "auto" }, text)) };
    pending.push(mine);
    ui.log.append(mine.el);
    scrollDown();
    showTyping(true);
    if (PREVIEW) {
      pending = [];
      setTimeout(function () {
        ui.log.append(h("div", { class: "msg bot" }, t("preview")));
        showTyping(false); setBusy(false); scrollDown();
      }, 400);
      return;
    }
    var accepted = false, finished = false;
    ensureConversation().then(function () {
      return api("POST", "/conversations/" + conv.id + "/messages", { content: text }, "text/event-stream");
    }).then(function (resp) {
      accepted = true;
      var buffer = "";
      return readEvents(resp, function (ev, data) {
        if (ev === "token") {
          if (!streaming) {
            showTyping(false);
            streaming = h("div", { class: "msg bot", "aria-hidden": "true" });
            ui.log.append(streaming);
          }
          buffer += data.text || "";
          streaming.textContent = buffer; // raw while streaming; the final text is rendered from `done`
          scrollDown();
        } else if (ev === "done") {
          finished = true;
          bindOwn(mine, data.customer_message);
          if (streaming) { streaming.remove(); streaming = null; }
          if (data.message) addMessage(data.message);
          showChips(data.suggestions);
          ui.human.classList.toggle("offer", !!data.handoff && status === "bot");
        } else if (ev === "error") {
          finished = true;
          showError(data.error || data);
        }
      });
    }).then(function () {
      if (!finished) throw new ChatError(t("dropped"), 0, "network");
    }).catch(function (err) {
      if (!accepted) {
        pending.splice(pending.indexOf(mine), 1);
        mine.el.remove();
        if (!ui.input.value) ui.input.value = text; // nothing was stored: keep what they wrote
      } else setTimeout(catchUp, 1500); // it was stored; the answer may still arrive
      showError(err);
    }).then(function () {
      if (streaming) { streaming.remove(); streaming = null; }
      showTyping(false);
      setBusy(false);
    });
  }

  function bindOwn(mine, m) {
    var i = pending.indexOf(mine);
    if (i < 0 || !m) return;
    pending.splice(i, 1);
    if (rendered[m.seq]) { mine.el.remove(); return; }
    mine.el.setAttribute("data-seq", m.seq);
    rendered[m.seq] = mine.el;
    if (m.seq > lastSeq) lastSeq = m.seq;
  }

  function talkToHuman() {
    if (prechatNeeded()) { showPrechat(true); firstField().focus(); return; }
    if (PREVIEW) return;
    setBusy(true);
    showError("");
    ensureConversation().then(function () {
      return api("POST", "/conversations/" + conv.id + "/handoff", {});
    }).then(json).then(function (j) {
      addMessage(j && j.message && j.message.seq ? j.message : j);
      ui.human.classList.remove("offer");
      if (j && j.status) { waiting = !!j.waiting; setStatus(j.status); }
      setBusy(false);
      if (j && j.can_leave_message) showLeave(true);
    }, function (err) {
      setBusy(false);
      // Until the server knows handoffs, asking in words makes the bot offer a person.
      if (err.status === 404 || err.status === 405) send(t("askHuman"));
      else showError(err);
    });
  }

  function endChat(byCustomer) {
    if (ended) return;
    ended = true;
    if (byCustomer && conv) closing = api("POST", "/conversations/" + conv.id + "/close", {}).catch(function () {});
    if (live) stopLive();
    ui.compose.hidden = true;
    ui.leave.hidden = true;
    ui.bar.hidden = true;
    ui.chips.replaceChildren();
    showTyping(false);
    if (conv) { ui.rating.hidden = false; if (byCustomer) ui.rating.querySelector("input").focus(); }
    else newChat();
  }

  function reset() {
    stopLive();
    conv = null;
    save();
    ended = false;
    lastSeq = 0; seenSent = 0; rendered = {}; pending = []; status = "bot"; agentName = ""; waiting = false;
    build();
    setBusy(false);
    showPrechat(prechatNeeded());
    showChips(cfg.suggestions);
  }

  function newChat() { reset(); open(); }

  function resume() {
    return api("GET", "/conversations/" + conv.id).then(json).then(function (c) {
      email = c.customer_email || email;
      c.messages.forEach(addMessage);
      var lastBot = c.messages.filter(function (m) { return m.sender === "bot"; }).pop();
      if (lastBot && lastBot === c.messages[c.messages.length - 1]) showChips(lastBot.suggestions);
      setStatus(c.status);
      if (c.status === "closed" && c.rating != null) reset();
      else if (c.status !== "closed") connectLive();
    }, function (err) {
      if (err.status === 404) reset();
      else { showError(err); connectLive(); }
    });
  }

  // ---- live channel: WebSocket, else Server-Sent Events, else polling; always deduplicated by seq -------
  function onEvent(e) {
    if (!e || !e.type) return;
    if (e.type === "message" && e.message) {
      if (e.message.seq > lastSeq + 1) catchUp(); // something was missed: fetch the gap
      if (addMessage(e.message) && ui.panel.hidden && e.message.sender !== "customer") { unread++; setLauncherLabel(); }
      markSeen();
    } else if (e.type === "typing" && (e.who || e.side) === "staff") {
      if (e.typing === false) showTyping(false);
      else showTyping(true, t("staffTyping", e.name || agentName || t("support")), 6000);
    } else if (e.type === "seen" && (e.by || e.side) === "staff") {
      var el = rendered[e.seq];
      if (el && el.classList.contains("customer")) el.after(ui.seen);
    } else if (e.type === "status") {
      waiting = !!e.waiting;
      setStatus(e.status, e.assigned_name || e.agent);
    }
  }

  function markSeen() {
    if (!conv || ui.panel.hidden || lastSeq <= seenSent || document.hidden) return;
    seenSent = lastSeq;
    if (live instanceof WebSocket && live.readyState === 1) live.send(JSON.stringify({ type: "seen", seq: lastSeq }));
    else if (serverSeen) api("POST", "/conversations/" + conv.id + "/seen", { seq: lastSeq }).catch(function (err) { if (err.status === 404 || err.status === 405) serverSeen = false; });
  }

  function catchUp() {
    if (!conv) return Promise.resolve();
    return api("GET", "/conversations/" + conv.id + "?after=" + lastSeq).then(json).then(function (c) {
      c.messages.forEach(function (m) { if (addMessage(m) && ui.panel.hidden && m.sender !== "customer") { unread++; setLauncherLabel(); } });
      if (c.status !== status) setStatus(c.status);
    });
  }

  function connected(on) {
    ui.sub.toggleAttribute("data-offline", !on);
    if (!on) ui.sub.textContent = t("reconnecting");
    else setStatus();
  }

  function connectLive() {
    clearTimeout(timer);
    if (!conv || PREVIEW || ended) return;
    if (mode === "ws") openSocket();
    else if (mode === "sse") openStream();
    else poll();
  }

  function stopLive() {
    clearTimeout(timer);
    var l = live;
    live = null;
    if (l instanceof WebSocket) l.close();
    else if (l && l.abort) l.abort();
  }

  function retry() {
    if (!conv || ended) return;
    if (Date.now() - openedAt > 10000) attempt = 0; // it had been working: this is a fresh drop
    var delay = Math.min(30000, 1000 * Math.pow(2, attempt++)) * (0.5 + Math.random() / 2);
    connected(false);
    timer = setTimeout(connectLive, delay);
  }

  function openSocket() {
    var url = new URL(API + "/conversations/" + conv.id + "/live");
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.search = new URLSearchParams({ key: KEY, token: conv.token, after: lastSeq }).toString();
    var ws, opened = false;
    try { ws = new WebSocket(url.href); } catch (e) { mode = "sse"; connectLive(); return; }
    live = ws;
    ws.onopen = function () { opened = true; openedAt = Date.now(); connected(true); catchUp().catch(function () {}); markSeen(); };
    ws.onmessage = function (m) { onEvent(readJson(m.data)); };
    ws.onclose = function (e) {
      if (live !== ws) return;
      live = null;
      if (e.code === 4404) { reset(); return; } // the conversation is gone (or the token is wrong)
      if (opened) { retry(); return; }
      // Never opened, yet the API answers: no WebSocket here (an older server, or a proxy); use SSE.
      catchUp().then(function () { mode = "sse"; connectLive(); }, retry);
    };
  }

  function openStream() {
    var ctrl = new AbortController();
    live = ctrl;
    fetch(API + "/conversations/" + conv.id + "/events?after=" + lastSeq, {
      headers: { Authorization: "Bearer " + KEY, "X-Conversation-Token": conv.token, Accept: "text/event-stream" },
      cache: "no-store", credentials: "omit", signal: ctrl.signal,
    }).then(function (r) {
      if (r.status === 404 || r.status === 405) { mode = "poll"; live = null; connectLive(); return; }
      if (!r.ok) throw new Error(String(r.status));
      openedAt = Date.now();
      connected(true);
      catchUp().catch(function () {});
      return readEvents(r, function (ev, data) { onEvent(data.type ? data : Object.assign({ type: ev }, data)); }).then(function () {
        if (live === ctrl) { live = null; retry(); }
      });
    }).catch(function () {
      if (live === ctrl) { live = null; retry(); }
    });
  }

  function poll() {
    live = null;
    catchUp().then(function () {
      attempt = 0;
      connected(true);
      timer = setTimeout(connectLive, document.hidden ? 10000 : 3000);
    }, function (err) {
      if (err.status === 404) reset(); // the conversation is gone: start afresh
      else retry();
    });
  }

  window.addEventListener("online", function () { if (conv && !ended) { attempt = 0; stopLive(); connectLive(); } });
  document.addEventListener("visibilitychange", markSeen);

  // ---- start -------------------------------------------------------------------------------------------
  function start() {
    build();
    document.body.append(host);
    if (PREVIEW) {
      open(false);
      showPrechat(prechatNeeded());
      showChips(cfg.suggestions);
      return;
    }
    var wasOpen = conv && conv.open, hadFocus = false;
    api("GET", "/widget/config").then(json).then(function (c) { cfg = Object.assign({}, DEFAULTS, c); setLanguage(cfg.language); }, function (err) {
      unavailable = err.message || t("unavailable");
      if (window.console) console.warn("Answerdesk widget: " + unavailable + " If you run this site, check that " + location.origin + " is an allowed origin of the public key.");
    }).then(function () {
      // The visitor may have opened the launcher while the settings were loading: keep it open, and
      // keep the keyboard focus in it (redrawing in the site's language replaces every element).
      if (!ui.panel.hidden) wasOpen = true;
      hadFocus = !!root.activeElement;
      build();
      setBusy(false);
      if (unavailable) { ui.input.disabled = true; return; }
      showPrechat(prechatNeeded());
      if (conv) return resume();
      showChips(cfg.suggestions);
    }).then(function () { if (wasOpen) open(hadFocus); });
  }

  window.AnswerdeskWidget = {
    version: "1",
    open: function () { open(); },
    close: function () { close(); },
  };
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
