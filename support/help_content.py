"""The FAQ answers every new installation starts with (seeded by a data migration; admins edit them)."""

# (slug, category, position, {language: (title, body in Markdown)})
ARTICLES = [
    (
        "create-custody",
        "Custodies",
        10,
        {
            "en": (
                "How do I open a new custody?",
                "1. Click **New custody** (or press `n`).\n"
                "2. Pick the rental agreement or the vehicle; the customer fills in by itself.\n"
                "3. Choose the reason (accident, breakdown, maintenance, damage, other) and the incident time.\n"
                "4. Record who holds the car (the custodian) and pick a replacement vehicle that is available.\n"
                "5. Choose the rate policy, upload the required documents, review and **Submit**.\n\n"
                "The draft saves itself at every step: you can leave and come back.",
            ),
            "ar": (
                "كيف أفتح عهدة جديدة؟",
                "1. اضغط **عهدة جديدة** (أو اضغط `n`).\n"
                "2. اختر عقد الإيجار أو المركبة؛ يُعبأ العميل تلقائياً.\n"
                "3. اختر السبب (حادث، عطل، صيانة، ضرر، أخرى) ووقت الحادث.\n"
                "4. سجّل حامل المركبة واختر مركبة بديلة متاحة.\n"
                "5. اختر سياسة السعر، وارفع المستندات المطلوبة، ثم راجع واضغط **إرسال**.\n\n"
                "تُحفظ المسودة تلقائياً في كل خطوة.",
            ),
        },
    ),
    (
        "workflow",
        "Custodies",
        20,
        {
            "en": (
                "What do the custody statuses mean?",
                "- **Draft**: being prepared; only drafts can be edited.\n"
                "- **Pending approval**: submitted; waits for the approval levels.\n"
                "- **Approved**: the replacement vehicle is reserved; hand it over.\n"
                "- **Active**: the customer drives the replacement.\n"
                "- **Closed**: returned and settled. **Voided**: cancelled with a reason.\n\n"
                "A rejected custody goes back to draft with the reason kept.",
            ),
            "ar": (
                "ماذا تعني حالات العهدة؟",
                "- **مسودة**: قيد الإعداد؛ يمكن تعديل المسودات فقط.\n"
                "- **بانتظار الموافقة**: أُرسلت وتنتظر مستويات الموافقة.\n"
                "- **موافق عليها**: المركبة البديلة محجوزة؛ سلّمها.\n"
                "- **نشطة**: العميل يقود المركبة البديلة.\n"
                "- **مغلقة**: أُعيدت وسُوّيت. **ملغاة**: أُلغيت مع ذكر السبب.",
            ),
        },
    ),
    (
        "approvals",
        "Approvals",
        30,
        {
            "en": (
                "How do I approve or reject a custody?",
                "Open **Approvals** (or press `g a`). Each row shows the level waiting for your role and its "
                "SLA. Open the custody, check the documents, then **Approve** (notes optional) or **Reject** "
                "(a reason is required). You cannot approve a custody you submitted, nor two levels of the same custody.",
            ),
            "ar": (
                "كيف أوافق على عهدة أو أرفضها؟",
                "افتح **الموافقات** (أو اضغط `g a`). يظهر في كل صف المستوى المنتظر لدورك ومهلته. "
                "افتح العهدة وتحقق من المستندات ثم اضغط **موافقة** أو **رفض** (السبب مطلوب). "
                "لا يمكنك الموافقة على عهدة أرسلتها بنفسك.",
            ),
        },
    ),
    (
        "documents",
        "Documents",
        40,
        {
            "en": (
                "Which documents are needed, and which files are accepted?",
                "The custody shows what its reason requires (for an accident: incident report, photos and the "
                "customer's acknowledgment). PDF, JPEG, PNG, WebP, HEIC and Word (.docx) files up to 10 MB are "
                "accepted. The customer can sign on the screen or through a signing link.",
            ),
            "ar": (
                "ما المستندات المطلوبة وما الملفات المقبولة؟",
                "تعرض العهدة ما يتطلبه سببها (للحادث: تقرير الحادث والصور وإقرار العميل). "
                "تُقبل ملفات PDF وJPEG وPNG وWebP وHEIC وWord حتى 10 ميغابايت.",
            ),
        },
    ),
    (
        "charges-payments",
        "Money",
        50,
        {
            "en": (
                "How do charges and payments work?",
                "The replacement rental is computed by the system from the rate policy. Add other charges "
                "(damage, fuel, fees) as drafts; finance or a manager posts them. Record payments with the "
                "payer; the balance shows per responsibility (customer, company, insurance, third party). "
                "A posted charge is never edited: void it and add a new one.",
            ),
            "ar": (
                "كيف تعمل الرسوم والدفعات؟",
                "يحسب النظام إيجار المركبة البديلة من سياسة السعر. أضف الرسوم الأخرى كمسودات ويقوم "
                "قسم المالية أو المدير بترحيلها. سجّل الدفعات مع الجهة الدافعة؛ يظهر الرصيد لكل جهة مسؤولة.",
            ),
        },
    ),
    (
        "reports",
        "Reports",
        60,
        {
            "en": (
                "Where are the reports and exports?",
                "**Reports** shows the KPIs and charts for a period and branch. Every list has CSV and Excel "
                "exports that keep your filters.",
            ),
            "ar": (
                "أين التقارير والتصدير؟",
                "تعرض صفحة **التقارير** المؤشرات والرسوم البيانية لفترة وفرع. "
                "كل قائمة يمكن تصديرها بصيغة CSV وExcel مع الحفاظ على عوامل التصفية.",
            ),
        },
    ),
    (
        "two-factor",
        "Account",
        70,
        {
            "en": (
                "How do I turn on two-factor authentication?",
                "Open **Settings → Two-factor authentication**, scan the QR code with an authenticator app, type "
                "the 6-digit code and keep the recovery codes somewhere safe. Lost your phone? Use a recovery code, "
                "or ask an administrator to remove two-factor from your account.",
            ),
            "ar": (
                "كيف أفعّل التحقق بخطوتين؟",
                "افتح **الإعدادات ← التحقق بخطوتين**، وامسح رمز QR بتطبيق المصادقة، واكتب الرمز المكون من 6 أرقام، "
                "واحفظ رموز الاسترداد في مكان آمن.",
            ),
        },
    ),
    (
        "report-problem",
        "Account",
        80,
        {
            "en": (
                "Something does not work. How do I get help?",
                "Click **Report a problem** at the bottom of any page. The page you were on is sent with your "
                "report; add a screenshot if you can. You are notified when an administrator answers, and you "
                "find your tickets under **My support tickets** in your menu.",
            ),
            "ar": (
                "هناك شيء لا يعمل. كيف أحصل على المساعدة؟",
                "اضغط **الإبلاغ عن مشكلة** أسفل أي صفحة. تُرسل الصفحة التي كنت فيها مع البلاغ؛ "
                "أضف لقطة شاشة إن أمكن. ستصلك إشعارات عند رد المسؤول.",
            ),
        },
    ),
    (
        "shortcuts",
        "Account",
        90,
        {
            "en": (
                "Which keyboard shortcuts are there?",
                "Press `?` on any page. `g d` dashboard, `g c` custodies, `g a` approvals, `n` new custody, "
                "`/` search.",
            ),
            "ar": (
                "ما اختصارات لوحة المفاتيح؟",
                "اضغط `?` في أي صفحة. `g d` لوحة التحكم، `g c` العهد، `g a` الموافقات، `n` عهدة جديدة، `/` البحث.",
            ),
        },
    ),
]


def seed(HelpArticle) -> int:
    """Create the missing articles (idempotent by slug + language); returns how many were created."""
    created = 0
    for slug, category, position, texts in ARTICLES:
        for language, (title, body) in texts.items():
            _obj, made = HelpArticle.objects.get_or_create(
                slug=slug,
                language=language,
                defaults={"title": title, "body": body, "category": category, "position": position},
            )
            created += made
    return created
